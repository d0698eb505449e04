# Shared by the toolchain files: Debian's cross compiler for RACKTEL_TRIPLET,
# programs (protoc) from the build machine, tests run under RACKTEL_QEMU
# (qemu-user), and the target's libraries either from the build machine's
# multiarch tree (dpkg --add-architecture) or, with RACKTEL_SYSROOT (a cache
# variable or environment variable), from a sysroot of their own
# (scripts/armhf-sysroot.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${RACKTEL_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${RACKTEL_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${RACKTEL_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
if(NOT RACKTEL_SYSROOT AND DEFINED ENV{RACKTEL_SYSROOT})
  set(RACKTEL_SYSROOT $ENV{RACKTEL_SYSROOT})
endif()
if(RACKTEL_SYSROOT)
  # Passed on to try_compile projects, which read the toolchain file again.
  set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RACKTEL_SYSROOT)
  set(CMAKE_SYSROOT ${RACKTEL_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH ${RACKTEL_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
  set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${RACKTEL_SYSROOT})
  set(ENV{PKG_CONFIG_LIBDIR}
      "${RACKTEL_SYSROOT}/usr/lib/${RACKTEL_TRIPLET}/pkgconfig:${RACKTEL_SYSROOT}/usr/share/pkgconfig")
  # The target's loader and libraries are in the sysroot.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${RACKTEL_QEMU};-L;${RACKTEL_SYSROOT})
else()
  set(CMAKE_FIND_ROOT_PATH /usr/${RACKTEL_TRIPLET} /)
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${RACKTEL_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
  # The target's loader and libraries are in the multiarch paths qemu already finds.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${RACKTEL_QEMU})
endif()
