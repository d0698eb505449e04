/*
 * An example racktel driver, in C, built out of tree: the rack controller's
 * own health from /proc (load averages, available memory, uptime).
 *
 * Config keys: proc = "/proc" (where to read; tests point it elsewhere).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <racktel/driver.h>

enum { LOAD1, LOAD5, LOAD15, MEM_AVAILABLE, UPTIME, SENSOR_COUNT };

typedef struct {
  char proc[256];
} controller;

static const struct {
  const char* id;
  const char* name;
  uint32_t kind;
  const char* unit;
  double resolution;
  double warn_high;
} sensors[SENSOR_COUNT] = {
    {"load1", "controller load average, 1 min", RACKTEL_KIND_OTHER, "", 0.01, 4.0},
    {"load5", "controller load average, 5 min", RACKTEL_KIND_OTHER, "", 0.01, 4.0},
    {"load15", "controller load average, 15 min", RACKTEL_KIND_OTHER, "", 0.01, 4.0},
    {"mem_available", "controller available memory", RACKTEL_KIND_OTHER, "By", 1024.0, NAN},
    {"uptime", "controller uptime", RACKTEL_KIND_OTHER, "s", 1.0, NAN},
};

static int controller_open(const racktel_host* host, const racktel_config* config, uint32_t flags, void** out) {
  (void)flags;
  controller* c = calloc(1, sizeof *c);
  if (c == NULL) {
    host->log(host->ctx, RACKTEL_LOG_ERROR, "out of memory");
    return RACKTEL_DRIVER_FAILED;
  }
  strcpy(c->proc, "/proc");
  const char* proc = NULL;
  const int got = config->get_string(config->ctx, "proc", &proc);
  if (got < 0 || (got == 1 && strlen(proc) >= sizeof c->proc - 16)) {
    if (got == 1) config->error(config->ctx, "proc", "path too long");
    free(c);
    return RACKTEL_DRIVER_FAILED;
  }
  if (got == 1) strcpy(c->proc, proc);
  *out = c;
  return RACKTEL_DRIVER_OK;
}

static void controller_close(void* p) { free(p); }
static uint32_t controller_sensor_count(void* p) {
  (void)p;
  return SENSOR_COUNT;
}

static int controller_sensor_info(void* p, uint32_t i, racktel_sensor_info* info) {
  (void)p;
  if (i >= SENSOR_COUNT) return RACKTEL_DRIVER_FAILED;
  info->id = sensors[i].id;
  info->name = sensors[i].name;
  info->kind = sensors[i].kind;
  info->unit = sensors[i].unit;
  info->location = "board=controller";
  info->resolution = sensors[i].resolution;
  info->warn_high = sensors[i].warn_high;
  info->group = 0;
  return RACKTEL_DRIVER_OK;
}

/* The one read group every instance has, for check-config (ABI 1.2). */
static const char* const controller_group_names[] = {"all", NULL};

static uint32_t controller_group_count(void* p) {
  (void)p;
  return 1;
}

static int controller_group_info(void* p, uint32_t i, racktel_group_info* info) {
  (void)p;
  if (i != 0) return RACKTEL_DRIVER_FAILED;
  info->name = controller_group_names[0];
  info->default_interval_ms = 0;
  return RACKTEL_DRIVER_OK;
}

static FILE* open_proc(const controller* c, const char* file) {
  char path[300];
  snprintf(path, sizeof path, "%s/%s", c->proc, file);
  return fopen(path, "r");
}

static int controller_read(void* p, const racktel_read_request* request, uint32_t* written) {
  const controller* c = p;
  if (request->capacity < SENSOR_COUNT) return RACKTEL_DRIVER_FAILED;
  for (uint32_t i = 0; i < SENSOR_COUNT; ++i) {
    request->samples[i].sensor = i;
    request->samples[i].status = RACKTEL_READING_ERROR;
    request->samples[i].value = 0.0;
  }
  double load[3];
  FILE* f = open_proc(c, "loadavg");
  if (f != NULL) {
    if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) == 3) {
      for (int i = 0; i < 3; ++i) {
        request->samples[LOAD1 + i].value = load[i];
        request->samples[LOAD1 + i].status = RACKTEL_READING_OK;
      }
    }
    fclose(f);
  }
  f = open_proc(c, "meminfo");
  if (f != NULL) {
    char key[64];
    double kib = 0;
    while (fscanf(f, "%63s %lf kB", key, &kib) == 2) {
      if (strcmp(key, "MemAvailable:") == 0) {
        request->samples[MEM_AVAILABLE].value = kib * 1024.0;
        request->samples[MEM_AVAILABLE].status = RACKTEL_READING_OK;
        break;
      }
    }
    fclose(f);
  }
  f = open_proc(c, "uptime");
  if (f != NULL) {
    double up = 0;
    if (fscanf(f, "%lf", &up) == 1) {
      request->samples[UPTIME].value = up;
      request->samples[UPTIME].status = RACKTEL_READING_OK;
    }
    fclose(f);
  }
  *written = SENSOR_COUNT;
  return RACKTEL_DRIVER_OK;
}

/* Designated initializers: fields a later ABI minor appends are then zero
 * ("absent") when this file is rebuilt, instead of a missing-initializer error. */
static const racktel_driver controller_driver = {
    .struct_size = sizeof(racktel_driver),
    .abi_major = RACKTEL_DRIVER_ABI_MAJOR,
    .abi_minor = RACKTEL_DRIVER_ABI_MINOR,
    .type_name = "controller",
    .description = "the rack controller's own load, memory and uptime (example out-of-tree driver)",
    .flags = 0, /* reads of /proc never block */
    .open = controller_open,
    .close = controller_close,
    .sensor_count = controller_sensor_count,
    .sensor_info = controller_sensor_info,
    .group_count = controller_group_count,
    .group_info = controller_group_info,
    .read = controller_read,
    .group_names = controller_group_names,
};

RACKTEL_DRIVER_ENTRY(controller_driver)
