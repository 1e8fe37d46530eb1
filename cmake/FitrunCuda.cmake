# The CUDA backend (src/backend/cuda): FITRUN_CUDA=AUTO builds it when the CUDA compiler,
# CUDAToolkit (cudart, cublas, cublasLt) and cuDNN (header + library) are all found; ON fails
# naming what is missing; OFF skips it. Sets FITRUN_HAVE_CUDA (ON/OFF) for the caller.
# The library links cudart dynamically; on a machine without a GPU or driver it still loads
# and reports "no CUDA device" (the runtime's calls return cudaErrorNoDevice/InsufficientDriver).
set(FITRUN_HAVE_CUDA OFF)
string(TOUPPER "${FITRUN_CUDA}" _fitrun_cuda_mode)
if(NOT _fitrun_cuda_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "FITRUN_CUDA must be AUTO, ON or OFF, got '${FITRUN_CUDA}'")
endif()

function(_fitrun_cuda_missing what)
  if(_fitrun_cuda_mode STREQUAL "ON")
    message(FATAL_ERROR "FITRUN_CUDA=ON but ${what} was not found "
                        "(set CUDAToolkit_ROOT / CUDNN_ROOT, or use FITRUN_CUDA=AUTO or OFF)")
  endif()
  message(STATUS "CUDA backend: off (${what} not found)")
endfunction()

if(_fitrun_cuda_mode STREQUAL "OFF")
  message(STATUS "CUDA backend: off (FITRUN_CUDA=OFF)")
  return()
endif()

include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  _fitrun_cuda_missing("a CUDA compiler (nvcc)")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES 90)  # H100/H200; override with -DCMAKE_CUDA_ARCHITECTURES=...
endif()
enable_language(CUDA)
set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)  # Static would add cudart_static next to CUDA::cudart
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

find_package(CUDAToolkit)
if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart OR NOT TARGET CUDA::cublas
   OR NOT TARGET CUDA::cublasLt)
  _fitrun_cuda_missing("CUDAToolkit (cudart, cublas, cublasLt)")
  return()
endif()

find_path(CUDNN_INCLUDE_DIR cudnn_version.h
  HINTS ${CUDAToolkit_INCLUDE_DIRS} $ENV{CUDNN_ROOT} ${CUDNN_ROOT} PATH_SUFFIXES include)
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9  # a pip wheel ships only the .so.9
  HINTS ${CUDAToolkit_LIBRARY_DIR} $ENV{CUDNN_ROOT} ${CUDNN_ROOT} PATH_SUFFIXES lib lib64)
if(NOT CUDNN_INCLUDE_DIR OR NOT CUDNN_LIBRARY)
  _fitrun_cuda_missing("cuDNN (cudnn.h and libcudnn)")
  return()
endif()
file(STRINGS ${CUDNN_INCLUDE_DIR}/cudnn_version.h _v REGEX "define CUDNN_(MAJOR|MINOR|PATCHLEVEL) ")
string(REGEX REPLACE ".*CUDNN_MAJOR ([0-9]+).*CUDNN_MINOR ([0-9]+).*CUDNN_PATCHLEVEL ([0-9]+).*"
       "\\1.\\2.\\3" CUDNN_VERSION "${_v}")
if(NOT TARGET fitrun_cudnn)
  add_library(fitrun_cudnn INTERFACE)
  target_include_directories(fitrun_cudnn INTERFACE ${CUDNN_INCLUDE_DIR})
  target_link_libraries(fitrun_cudnn INTERFACE ${CUDNN_LIBRARY})
endif()
set(FITRUN_HAVE_CUDA ON)
message(STATUS "CUDA backend: on (CUDA ${CUDAToolkit_VERSION}, cuDNN ${CUDNN_VERSION}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES})")
