# Cross build for 32-bit ARM (armhf, Cortex-A7 class) rack controllers, with
# g++-arm-linux-gnueabihf and an armhf sysroot (scripts/armhf-sysroot.sh:
# Debian's armhf -dev packages do not always install beside the build
# machine's own):
#   cmake -S . -B build/armhf -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake \
#         -DRACKTEL_SYSROOT=$(scripts/armhf-sysroot.sh)
# scripts/cross-check.sh does this, and runs the unit tests under qemu-arm.
set(CMAKE_SYSTEM_PROCESSOR arm)
set(RACKTEL_TRIPLET arm-linux-gnueabihf)
set(RACKTEL_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
