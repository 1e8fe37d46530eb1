#pragma once
// FITRUN_HD marks small functions that CUDA kernels call too (__host__ __device__ under nvcc,
// nothing for the host compiler), so that both devices share one definition.
#ifdef __CUDACC__
#define FITRUN_HD __host__ __device__
#else
#define FITRUN_HD
#endif
