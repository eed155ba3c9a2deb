# cuda.cmake — whether core/cuda/ (the GPU backend) is built, and how nvcc is driven.
#   SGDLAB_CUDA=AUTO  (default) build it when nvcc, cuBLAS and cuDNN are all found, else leave it out quietly
#   SGDLAB_CUDA=ON    build it, and stop with a message naming what is missing
#   SGDLAB_CUDA=OFF   the CPU-only build, exactly as before the backend existed
# Sets SGDLAB_HAVE_CUDA. The toolkit is looked for on PATH, in CUDACXX, then in /usr/local/cuda (where
# these machines have it, off PATH); cuDNN beside the toolkit or under CUDNN_ROOT (e.g. pip's nvidia-cudnn).
set(SGDLAB_HAVE_CUDA OFF)
if(NOT SGDLAB_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "SGDLAB_CUDA must be AUTO, ON or OFF, not '${SGDLAB_CUDA}'")
endif()
if(SGDLAB_SANITIZE OR SGDLAB_FUZZ)
  # ASan reserves the address range the CUDA driver maps its memory at (protect_shadow_gap), and the
  # sanitizer flags are gcc/clang's, not nvcc's: the instrumented builds test the CPU code only.
  if(SGDLAB_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SGDLAB_CUDA=ON cannot go with SGDLAB_SANITIZE or SGDLAB_FUZZ (ASan and the CUDA "
                        "driver clash); use SGDLAB_CUDA=OFF for the sanitizer build")
  endif()
  set(SGDLAB_CUDA OFF)
  set(off_why "the sanitizer and fuzz builds test the CPU code")
endif()

if(NOT SGDLAB_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(SGDLAB_NVCC nvcc PATHS /usr/local/cuda/bin NO_CACHE)
    if(SGDLAB_NVCC)
      set(CMAKE_CUDA_COMPILER ${SGDLAB_NVCC})
    endif()
  endif()
  include(CheckLanguage)
  # Ampere (A100) and Hopper (H100, H200) machine code, unless the user chose: not one old arch whose
  # PTX the driver must compile at every start (darknet's hard-coded arch was its users' pain).
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90")
  endif()
  check_language(CUDA)
  set(missing "")
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(NOT TARGET CUDA::cublas)
      list(APPEND missing "cuBLAS")
    endif()
    find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT} ${CUDAToolkit_INCLUDE_DIRS}
              PATH_SUFFIXES include)
    find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${CUDNN_ROOT} $ENV{CUDNN_ROOT}
                 ${CUDAToolkit_LIBRARY_DIR} PATH_SUFFIXES lib lib64)
    if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
      list(APPEND missing "cuDNN (cudnn.h and libcudnn; set CUDNN_ROOT)")
    endif()
  else()
    set(missing "nvcc (put it on PATH or set CUDACXX)")
  endif()
  if(missing STREQUAL "")
    set(SGDLAB_HAVE_CUDA ON)
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared) # one CUDA runtime, the one sgdcore links (not also a static copy)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # The host compiler gets the C build's warnings; device code's own warnings are errors too in CI.
    add_compile_options("$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Xcompiler -Wall,-Wextra,-Wshadow,-Wno-unused-parameter>")
    if(SGDLAB_WERROR)
      add_compile_options("$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Werror all-warnings>"
                          "$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Xcompiler -Werror>")
    endif()
    if(CMAKE_BUILD_TYPE STREQUAL "Release")
      add_compile_options("$<$<COMPILE_LANGUAGE:CUDA>:SHELL:-Xcompiler -march=native>")
    endif()
    message(STATUS "sgdlab: CUDA backend ON (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures "
                   "${CMAKE_CUDA_ARCHITECTURES}, cuDNN ${CUDNN_LIBRARY})")
  elseif(SGDLAB_CUDA STREQUAL "ON")
    message(FATAL_ERROR "SGDLAB_CUDA=ON but the CUDA backend cannot be built: missing ${missing}")
  else()
    message(STATUS "sgdlab: CUDA backend OFF (not found: ${missing})")
  endif()
else()
  if(NOT off_why)
    set(off_why "SGDLAB_CUDA=OFF")
  endif()
  message(STATUS "sgdlab: CUDA backend OFF (${off_why})")
endif()
