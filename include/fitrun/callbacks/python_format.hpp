#pragma once
// The bits of Python's number formatting that Keras' callbacks show to users: ModelCheckpoint's
// filepath templates are str.format() templates ("ckpt-{epoch:02d}-{val_loss:.3f}.h5") and
// CSVLogger writes values as str(float) does. Matching Python keeps file names and CSV files
// identical to what Keras writes.
#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace fitrun::callbacks {

/// Python's repr(float): the shortest text that reads back as `v` ("0.1", "1e-05", "2.0",
/// "1.5e+16", "nan", "inf").
std::string python_repr(double v);

/// A value a template can name: an integer (epoch, batch) or a float (a log value).
using FormatValue = std::variant<int64_t, double>;

/// Python's template.format(**values) for "{name}" and "{name:spec}" fields, where spec is
/// [[fill]align][sign][0][width][,|_][.precision][type] with type d, f, F, e, E, g, G, % or
/// none, plus "{{" and "}}". Throws ConfigError for an unknown name (listing the names
/// available), a malformed field or a spec that does not fit the value ("d" of a float).
std::string python_format(const std::string& pattern,
                          const std::map<std::string, FormatValue>& values);

}  // namespace fitrun::callbacks
