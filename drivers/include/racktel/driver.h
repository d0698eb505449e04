/*
 * racktel driver ABI — the only header a racktel driver sees.
 *
 * A driver knows hardware and nothing else: it lists the sensors it sees and
 * reads them. It never touches MQTT, the spool or the configuration file; the
 * agent (the "host") hands it a view of its own TOML table and a log sink.
 *
 * This is a plain C ABI so that drivers can be built with any compiler, in or
 * out of the racktel tree, and loaded with dlopen. No C++ types and no
 * exceptions cross it: a C++ driver must catch everything at its entry points.
 *
 * Versioning
 * ----------
 * RACKTEL_DRIVER_ABI_MAJOR changes when the ABI breaks; the host refuses a
 * driver whose major differs from its own. RACKTEL_DRIVER_ABI_MINOR grows when
 * fields are appended to the end of a struct; every versioned struct starts
 * with `struct_size`, and a reader never touches a field that lies beyond the
 * size the writer declared. A driver built against an older minor therefore
 * keeps working with a newer host, and a newer driver with an older host as
 * long as it checks `host->struct_size` before using appended host fields.
 *
 * Threading
 * ---------
 * The host never calls two entry points of the same instance at once.
 * `read` runs on the instance's lane: a host thread dedicated to that
 * instance when the driver sets RACKTEL_DRIVER_MAY_BLOCK, otherwise a lane
 * shared with other non-blocking drivers. Right after a read, on the same
 * lane, the host may call `catalog_generation` and, when it changed,
 * `sensor_count`/`sensor_info`/`group_count`/`group_info`. Different
 * instances may run concurrently, so drivers keep no unguarded global state.
 * `log` may be called from any thread.
 *
 * Deadlines and cancellation
 * --------------------------
 * Every read has a deadline. A driver should return by then; when it cannot
 * (a hung bus, a dead BMC) the host stops waiting, marks the readings as
 * timed out and sets `*cancel` to non-zero so the driver can give up early.
 * A result that arrives after the deadline is dropped and counted, never
 * published. The next read of that instance waits until the late one
 * returns, so a driver that hangs forever stalls only its own lane.
 *
 * Memory ownership
 * ----------------
 * Strings the host passes in (config values, messages) are valid only for the
 * duration of the call. Strings a driver returns in racktel_sensor_info and
 * racktel_group_info need stay valid only until the driver's next entry point
 * is called: the host copies them before it calls again (every host has; ABI
 * 1.5 makes it the rule), so a driver may describe its sensors one at a time
 * into one buffer instead of keeping every sensor's text for the host's sake.
 * Sample buffers belong to the host.
 */
#ifndef RACKTEL_DRIVER_H
#define RACKTEL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RACKTEL_DRIVER_ABI_MAJOR 1
#define RACKTEL_DRIVER_ABI_MINOR 5

/* Name of the one symbol a driver module exports (see RACKTEL_DRIVER_ENTRY). */
#define RACKTEL_DRIVER_ENTRY_SYMBOL "racktel_driver_entry"

/* Status of one reading. The numeric values travel on the wire. */
typedef enum racktel_reading_status {
  RACKTEL_READING_OK = 0,
  RACKTEL_READING_ERROR = 1,        /* the device answered with an error or not at all */
  RACKTEL_READING_TIMEOUT = 2,      /* the read missed its deadline (set by the host) */
  RACKTEL_READING_OUT_OF_RANGE = 3, /* a value was read but lies outside what the sensor can measure */
  RACKTEL_READING_STALE = 4         /* the sensor kept failing; set by the host, never by a driver */
} racktel_reading_status;

/* What a sensor measures; fixes the meaning of its unit. */
typedef enum racktel_sensor_kind {
  RACKTEL_KIND_OTHER = 0,
  RACKTEL_KIND_TEMPERATURE = 1, /* degrees Celsius */
  RACKTEL_KIND_POWER = 2,       /* watts */
  RACKTEL_KIND_VOLTAGE = 3,     /* volts */
  RACKTEL_KIND_CURRENT = 4,     /* amperes */
  RACKTEL_KIND_ENERGY = 5,      /* joules */
  RACKTEL_KIND_FLOW = 6,        /* litres per minute */
  RACKTEL_KIND_PRESSURE = 7,    /* kilopascals */
  RACKTEL_KIND_FAN_SPEED = 8,   /* revolutions per minute */
  RACKTEL_KIND_RATIO = 9,       /* percent (duty cycle, PWM, utilisation) */
  RACKTEL_KIND_STATE = 10       /* an enumerated state; 0 means normal (link up, no leak, PSU ok) */
} racktel_sensor_kind;

/* Log levels for racktel_host.log, most to least verbose. */
typedef enum racktel_log_level {
  RACKTEL_LOG_DEBUG = 1,
  RACKTEL_LOG_INFO = 2,
  RACKTEL_LOG_WARN = 3,
  RACKTEL_LOG_ERROR = 4
} racktel_log_level;

/* Return codes of driver entry points. */
#define RACKTEL_DRIVER_OK 0
#define RACKTEL_DRIVER_FAILED (-1)

/*
 * A view of the driver instance's own TOML table, provided by the host.
 *
 * Keys are paths relative to the instance table: "seed", "faults[0].chip".
 * Each getter returns 1 when the key is present and has the requested type,
 * 0 when it is absent (the driver applies its default), and -1 when it is
 * present with another type (the host has already recorded an error naming
 * file:line:column). Durations accept "250ms", "1s", "2m" strings.
 *
 * Every key the driver never asks for is reported by the host as an unknown
 * key, so a typo in the config file is an error, not a silent default.
 * `error` records a driver-specific validation error against a key; the host
 * prefixes it with the key's file:line:column. A driver whose config has
 * errors must fail `open`.
 */
typedef struct racktel_config {
  void* ctx;
  int (*get_string)(void* ctx, const char* key, const char** value);
  int (*get_int)(void* ctx, const char* key, int64_t* value);
  int (*get_double)(void* ctx, const char* key, double* value); /* also accepts integers */
  int (*get_bool)(void* ctx, const char* key, int* value);
  int (*get_duration_ms)(void* ctx, const char* key, int64_t* value);
  /* Number of elements of the array at `key`, or -1 when absent or not an array. */
  int (*array_size)(void* ctx, const char* key);
  void (*error)(void* ctx, const char* key, const char* message);
} racktel_config;

/* What the host offers a driver instance. */
typedef struct racktel_host {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  void* ctx;
  /* Log a message attributed to this instance. Any thread. */
  void (*log)(void* ctx, racktel_log_level level, const char* message);
  /* Instance name from the config ("rack", "bmc-tray3"). */
  const char* instance_name;
  /* Since ABI 1.1 (check struct_size): RACKTEL_POLICY_* bits the operator set. */
  uint32_t policy;
  /* Since ABI 1.4 (use RACKTEL_HOST_STATE_DIR): a directory of the instance's
   * own, kept across restarts, for what is worth not asking a device again
   * (an IPMI BMC's SDR repository): <state_dir>/drivers/<instance name>,
   * created by the host. NULL when there is none (a validating open, a host
   * that could not create it). */
  const char* state_dir;
} racktel_host;

/* racktel_host.policy: [agent] security = "strict". What a driver would only
 * warn about (credentials sent in cleartext, say) it must refuse, as a config
 * error at open. */
#define RACKTEL_POLICY_STRICT_SECURITY 0x1u

/* Whether `host` asks for strict security (false for a host older than ABI 1.1). */
#define RACKTEL_HOST_STRICT_SECURITY(host)                                                        \
  ((host)->struct_size >= offsetof(racktel_host, policy) + sizeof(uint32_t) &&                   \
   ((host)->policy & RACKTEL_POLICY_STRICT_SECURITY) != 0)

/* The instance's state directory, or NULL (also for a host older than ABI 1.4). */
#define RACKTEL_HOST_STATE_DIR(host)                                                              \
  ((host)->struct_size >= offsetof(racktel_host, state_dir) + sizeof(const char*) ? (host)->state_dir \
                                                                                  : NULL)

/* Flags for racktel_driver.open. */
/* Parse and check the config, touch no hardware. The host then calls nothing
 * but `close` on the instance, which may be NULL. */
#define RACKTEL_OPEN_VALIDATE_ONLY 0x1u

/* Flags for racktel_driver.flags. */
#define RACKTEL_DRIVER_MAY_BLOCK 0x1u /* reads may block: give each instance its own lane */

/* One sensor of an instance's catalog. Filled by the driver. */
typedef struct racktel_sensor_info {
  uint32_t struct_size;
  /* Stable identifier, unique within the instance and kept across restarts
   * and re-discoveries: "chip07.hbm3_temp". [A-Za-z0-9_.:-] only. */
  const char* id;
  const char* name;     /* human-readable: "chip 7 HBM stack 3 temperature" */
  uint32_t kind;        /* racktel_sensor_kind */
  const char* unit;     /* "Cel", "W", "V", "A", "J", "L/min", "kPa", "RPM", "%", "" */
  /* Location labels as "key=value" pairs separated by ',':
   * "tray=3,chip=12", "shelf=1,psu=4". Keys: tray, chip, board, shelf, psu, cdu, link. */
  const char* location;
  /* Quantum of the reported value; readings travel as integer multiples of it. */
  double resolution;
  /* Limits; NaN when there is none. */
  double warn_low;
  double warn_high;
  double crit_low;
  double crit_high;
  /* Index of the sensor's read group (see racktel_group_info). */
  uint32_t group;
  /* Since ABI 1.3: for RACKTEL_KIND_STATE, what its values mean, as
   * "value=word" pairs separated by ',': "0=up,1=down", "0=none,1=detected",
   * "0=ok,1=fault". Shown wherever people read the sensor; a value not listed
   * reads as its number. NULL or "" when there are none. */
  const char* states;
} racktel_sensor_info;

/* A read group: sensors read together, at their own default interval. */
typedef struct racktel_group_info {
  uint32_t struct_size;
  const char* name;          /* "power", "thermal" */
  uint32_t default_interval_ms; /* 0: use the instance's interval */
} racktel_group_info;

/* One reading, written by the driver into the host's buffer. */
typedef struct racktel_sample {
  uint32_t sensor; /* index in the instance's catalog */
  uint32_t status; /* racktel_reading_status */
  double value;    /* meaningful for OK and OUT_OF_RANGE */
} racktel_sample;

/* Arguments of one read. */
typedef struct racktel_read_request {
  uint32_t struct_size;
  uint32_t group;
  /* The scheduled sample time, Unix epoch nanoseconds. Simulated devices
   * compute their values for this instant. */
  int64_t sample_time_ns;
  /* Absolute deadline on CLOCK_MONOTONIC, nanoseconds. */
  int64_t deadline_ns;
  /* Set to non-zero by the host when it has stopped waiting. */
  const volatile int* cancel;
  racktel_sample* samples; /* room for `capacity` samples */
  /* At least the number of sensors in the group, with room to spare for a set
   * that grows during the read; a driver never writes more than `capacity`
   * samples (sensors beyond it are read at the next tick). */
  uint32_t capacity;
} racktel_read_request;

/*
 * The descriptor a driver exports. All function pointers are required unless
 * marked optional.
 */
typedef struct racktel_driver {
  uint32_t struct_size;
  uint16_t abi_major; /* RACKTEL_DRIVER_ABI_MAJOR the driver was built with */
  uint16_t abi_minor;
  const char* type_name;   /* the `type` used in the config: "sim", "hwmon" */
  const char* description; /* one line */
  uint32_t flags;          /* RACKTEL_DRIVER_* */

  /* Create an instance from its config table. On failure, report what was
   * wrong through config->error or host->log and return RACKTEL_DRIVER_FAILED. */
  int (*open)(const racktel_host* host, const racktel_config* config, uint32_t open_flags,
              void** instance);
  void (*close)(void* instance);

  /* The catalog. Indices are 0..count-1. */
  uint32_t (*sensor_count)(void* instance);
  int (*sensor_info)(void* instance, uint32_t index, racktel_sensor_info* info);
  uint32_t (*group_count)(void* instance);
  int (*group_info)(void* instance, uint32_t index, racktel_group_info* info);

  /* Read every sensor of request->group, writing one sample per sensor
   * (in any order) and setting *written. Returns RACKTEL_DRIVER_OK, or
   * RACKTEL_DRIVER_FAILED when nothing could be read at all (the host then
   * records an error reading for each sensor of the group). */
  int (*read)(void* instance, const racktel_read_request* request, uint32_t* written);

  /* Optional: a counter that changes whenever the sensor set changes (a
   * device unplugged or found). The host calls it after every read and, when
   * it differs from the last value seen, re-reads the catalog before it looks
   * at that read's samples: a read during which the set changed reports
   * sensor indices of the new catalog. NULL: the catalog is fixed. */
  uint64_t (*catalog_generation)(void* instance);

  /* Optional (ABI 1.2): the names of the read groups every instance of this
   * driver has, NULL-terminated, or NULL when they depend on the config. With
   * it the host checks a table's `group_intervals` keys without opening
   * hardware (`racktel check-config`); without it, at the instance's open. */
  const char* const* group_names;
} racktel_driver;

/* Signature of the entry symbol of a driver module. */
typedef const racktel_driver* (*racktel_driver_entry_fn)(void);

/* Define the entry point of a module: RACKTEL_DRIVER_ENTRY(my_driver_descriptor) */
#ifdef __cplusplus
#define RACKTEL_DRIVER_ENTRY(descriptor)                                                 \
  extern "C" __attribute__((visibility("default"))) const racktel_driver*             \
  racktel_driver_entry(void) { return &(descriptor); }
#else
#define RACKTEL_DRIVER_ENTRY(descriptor)                                                 \
  __attribute__((visibility("default"))) const racktel_driver* racktel_driver_entry(void) \
  { return &(descriptor); }
#endif

#ifdef __cplusplus
}
#endif

#endif /* RACKTEL_DRIVER_H */
