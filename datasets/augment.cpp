#include "fitrun/datasets/augment.hpp"

#include <algorithm>
#include <cstring>

#include "fitrun/error.hpp"

namespace fitrun::datasets::augment {

namespace {

/// The image tensor of an element, checked: float32, (H, W, C) or (N, H, W, C).
const Tensor& image_of(const Element& e, const char* op) {
  if (e.x.empty()) throw ConfigError(std::string(op) + ": the element has no x");
  const Tensor& t = e.x[0];
  if (t.dtype() != DType::float32 || (t.rank() != 3 && t.rank() != 4))
    throw ShapeError(std::string(op) + ": expects float32 images (H, W, C) or (N, H, W, C), got " +
                     t.shape().to_string() + " " + dtype_name(t.dtype()));
  return t;
}

struct Geometry {
  int64_t n, h, w, c;
};
Geometry geometry(const Tensor& t) {
  const int o = t.rank() == 4 ? 1 : 0;
  return {o ? t.dim(0) : 1, t.dim(o), t.dim(o + 1), t.dim(o + 2)};
}

Element with_image(Element e, Tensor image) {
  std::vector<Tensor> xs(e.x.begin(), e.x.end());
  xs[0] = std::move(image);
  e.x = TensorList(std::move(xs));
  return e;
}

}  // namespace

RandomFn random_flip(const std::string& mode) {
  const bool horizontal = mode == "horizontal" || mode == "horizontal_and_vertical";
  const bool vertical = mode == "vertical" || mode == "horizontal_and_vertical";
  if (!horizontal && !vertical)
    throw ConfigError("random_flip: mode must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\", got \"" +
                      mode + "\"");
  return [horizontal, vertical](Element e, Generator& gen) {
    const Tensor& in = image_of(e, "random_flip");
    const Geometry g = geometry(in);
    Tensor out(in.shape(), DType::float32);
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    for (int64_t i = 0; i < g.n; ++i) {
      const bool fh = horizontal && gen.below(2) == 1, fv = vertical && gen.below(2) == 1;
      const int64_t base = i * g.h * g.w * g.c;
      for (int64_t y = 0; y < g.h; ++y)
        for (int64_t x = 0; x < g.w; ++x) {
          const int64_t sy = fv ? g.h - 1 - y : y, sx = fh ? g.w - 1 - x : x;
          std::memcpy(dst + base + (y * g.w + x) * g.c, src + base + (sy * g.w + sx) * g.c,
                      static_cast<size_t>(g.c) * sizeof(float));
        }
    }
    return with_image(std::move(e), out);
  };
}

RandomFn random_crop(int64_t height, int64_t width, int64_t padding) {
  if (height <= 0 || width <= 0 || padding < 0)
    throw ConfigError("random_crop: height and width must be > 0 and padding >= 0, got " + std::to_string(height) +
                      ", " + std::to_string(width) + ", " + std::to_string(padding));
  return [height, width, padding](Element e, Generator& gen) {
    const Tensor& in = image_of(e, "random_crop");
    const Geometry g = geometry(in);
    const int64_t ph = g.h + 2 * padding, pw = g.w + 2 * padding;
    if (height > ph || width > pw)
      throw ShapeError("random_crop: a " + std::to_string(height) + "x" + std::to_string(width) +
                       " crop does not fit the padded " + std::to_string(ph) + "x" + std::to_string(pw) + " image");
    Shape shape = in.rank() == 4 ? Shape{g.n, height, width, g.c} : Shape{height, width, g.c};
    Tensor out = Tensor::zeros(shape, DType::float32);
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    for (int64_t i = 0; i < g.n; ++i) {
      const auto oy = static_cast<int64_t>(gen.below(static_cast<uint64_t>(ph - height + 1))) - padding;
      const auto ox = static_cast<int64_t>(gen.below(static_cast<uint64_t>(pw - width + 1))) - padding;
      const float* s = src + i * g.h * g.w * g.c;
      float* d = dst + i * height * width * g.c;
      // Copy the part of each row that falls inside the source image; the rest stays zero.
      const int64_t x0 = std::max<int64_t>(0, -ox), x1 = std::min<int64_t>(width, g.w - ox);
      for (int64_t y = 0; y < height; ++y) {
        const int64_t sy = y + oy;
        if (sy < 0 || sy >= g.h || x1 <= x0) continue;
        std::memcpy(d + (y * width + x0) * g.c, s + (sy * g.w + x0 + ox) * g.c,
                    static_cast<size_t>((x1 - x0) * g.c) * sizeof(float));
      }
    }
    return with_image(std::move(e), out);
  };
}

Fn normalize(std::vector<float> mean, std::vector<float> std) {
  if (mean.empty() || mean.size() != std.size())
    throw ConfigError("normalize: mean and std must have the same non-zero length, got " +
                      std::to_string(mean.size()) + " and " + std::to_string(std.size()));
  for (float s : std)
    if (!(s > 0)) throw ConfigError("normalize: std values must be > 0, got " + std::to_string(s));
  return [mean = std::move(mean), std = std::move(std)](Element e) {
    const Tensor& in = image_of(e, "normalize");
    const int64_t c = in.dim(-1);
    if (mean.size() != 1 && static_cast<int64_t>(mean.size()) != c)
      throw ShapeError("normalize: " + std::to_string(mean.size()) + " mean/std values for images with " +
                       std::to_string(c) + " channels");
    Tensor out(in.shape(), DType::float32);
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    const int64_t n = in.size();
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = mean.size() == 1 ? 0 : static_cast<size_t>(i % c);
      dst[i] = (src[i] - mean[k]) / std[k];
    }
    return with_image(std::move(e), out);
  };
}

Fn rescale(float scale, float offset) {
  return [scale, offset](Element e) {
    if (e.x.empty() || e.x[0].dtype() != DType::float32)
      throw ShapeError("rescale: expects float32 x");
    const Tensor& in = e.x[0];
    Tensor out(in.shape(), DType::float32);
    const float* src = in.data<float>();
    float* dst = out.data<float>();
    for (int64_t i = 0; i < in.size(); ++i) dst[i] = src[i] * scale + offset;
    return with_image(std::move(e), out);
  };
}

}  // namespace fitrun::datasets::augment
