# Compile settings shared by every dllm-internal target. Nothing here is global: targets opt in
# by linking dllm_build_flags. No -march=native: Highway dispatches at run time.
add_library(dllm_build_flags INTERFACE)
target_compile_features(dllm_build_flags INTERFACE cxx_std_17)
target_compile_definitions(dllm_build_flags INTERFACE HWY_WANT_AVX3_DL=1)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(dllm_build_flags INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -fvisibility=hidden -fvisibility-inlines-hidden>)
endif()
if(DLLM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DLLM_FUZZ needs clang (libFuzzer): configure with CMAKE_CXX_COMPILER=clang++")
  endif()
  set(DLLM_SANITIZE ON)
  # Coverage feedback for the fuzzers from every dllm-internal target.
  target_compile_options(dllm_build_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()
if(DLLM_SANITIZE)
  target_compile_options(dllm_build_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(dllm_build_flags INTERFACE -fsanitize=address,undefined)
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
