# Cross build for 32-bit ARM (armhf) rack controllers, as for aarch64, with
# dpkg --add-architecture armhf, g++-arm-linux-gnueabihf and the -dev packages :armhf:
#   cmake -S . -B build/armhf -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/arm-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_PROCESSOR arm)
set(RACKTEL_TRIPLET arm-linux-gnueabihf)
set(RACKTEL_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
