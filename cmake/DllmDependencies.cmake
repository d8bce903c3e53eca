# All dependencies come from Debian's packages; nothing is downloaded at configure time.
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(dnnl REQUIRED)          # libdnnl-dev (oneDNN 2.x, OpenMP runtime)
find_package(hwy REQUIRED)           # libhwy-dev (Highway 1.0.x)
find_package(Eigen3 REQUIRED NO_MODULE)  # libeigen3-dev
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)  # libsentencepiece-dev
if(DLLM_BUILD_TESTS)
  find_package(doctest REQUIRED)     # doctest-dev
endif()
