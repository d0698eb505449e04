# Shared by the toolchain files: Debian's cross compiler for RACKTEL_TRIPLET,
# libraries from its multiarch tree, programs (protoc) from the build machine,
# and tests run under RACKTEL_QEMU (qemu-user).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${RACKTEL_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${RACKTEL_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${RACKTEL_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_FIND_ROOT_PATH /usr/${RACKTEL_TRIPLET} /)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${RACKTEL_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
# The target's loader and libraries are in the multiarch paths qemu already finds.
set(CMAKE_CROSSCOMPILING_EMULATOR ${RACKTEL_QEMU})
