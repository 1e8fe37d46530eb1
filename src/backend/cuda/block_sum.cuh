#pragma once
// Sum of one double per thread over a block, in a fixed order (warp shuffles, then warp 0 over
// the per-warp partials): the result depends only on the values, never on timing. `shared`
// holds 32 doubles; call once per kernel. The sum is valid in thread 0.

namespace fitrun::cuda {

__device__ inline double block_sum(double v, double* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = threadIdx.x < (blockDim.x + 31) / 32 ? shared[threadIdx.x] : 0.0;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace fitrun::cuda
