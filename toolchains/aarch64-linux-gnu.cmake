# Cross build for 64-bit ARM rack controllers (see docs/deployment.md for the packages):
#   cmake -S . -B build/arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(RACKTEL_TRIPLET aarch64-linux-gnu)
set(RACKTEL_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
