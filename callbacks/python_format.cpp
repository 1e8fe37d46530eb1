// Python's repr(float) and str.format() number fields, written from the Python docs'
// "Format Specification Mini-Language" (and repr's switch to exponents below 1e-4 and
// from 1e16).
#include "fitrun/callbacks/python_format.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "fitrun/error.hpp"

namespace fitrun::callbacks {
namespace {

std::string printf_double(const char* conversion, int precision, double v) {
  char buf[512];
  const std::string format = std::string("%.*") + conversion;
  std::snprintf(buf, sizeof buf, format.c_str(), precision, v);
  return buf;
}

// Inserts `sep` every three digits of the integer part of an unsigned number text.
std::string group_digits(const std::string& text, char sep) {
  size_t end = text.find_first_not_of("0123456789");
  if (end == std::string::npos) end = text.size();
  std::string out;
  for (size_t i = 0; i < end; ++i) {
    if (i > 0 && (end - i) % 3 == 0) out += sep;
    out += text[i];
  }
  return out + text.substr(end);
}

struct Spec {
  char fill = ' ';
  char align = 0;  // '<' '>' '^' '=' or 0 (default)
  char sign = '-';
  int width = 0;
  char grouping = 0;
  int precision = -1;
  char type = 0;
};

Spec parse_spec(const std::string& s, const std::string& field) {
  auto bad = [&](const std::string& why) {
    throw ConfigError("format field \"{" + field + "}\": " + why);
  };
  Spec spec;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) {
    spec.fill = s[0];
    spec.align = s[1];
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    spec.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
  if (i < s.size() && s[i] == '#') bad("the '#' option is not supported");
  if (i < s.size() && s[i] == '0') {
    if (!spec.align) {
      spec.fill = '0';
      spec.align = '=';
    }
    ++i;
  }
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    spec.width = spec.width * 10 + (s[i++] - '0');
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) spec.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i])))
      bad("a precision needs digits after '.'");
    spec.precision = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      spec.precision = spec.precision * 10 + (s[i++] - '0');
  }
  if (i < s.size()) spec.type = s[i++];
  if (i != s.size() || (spec.type && std::string("dfFeEgG%").find(spec.type) == std::string::npos))
    bad("unsupported format spec \"" + s + "\" (fitrun supports [[fill]align][sign][0][width]"
        "[,][.precision][type] with type d, f, e, g or %)");
  return spec;
}

// The digits of |v| (sign handled by the caller) under `spec`.
std::string format_magnitude(const FormatValue& value, const Spec& spec, const std::string& field) {
  if (const int64_t* i = std::get_if<int64_t>(&value)) {
    if (spec.type == 0 || spec.type == 'd') {
      if (spec.precision >= 0)
        throw ConfigError("format field \"{" + field + "}\": precision not allowed for an integer");
      const uint64_t mag = *i < 0 ? 0 - static_cast<uint64_t>(*i) : static_cast<uint64_t>(*i);
      return std::to_string(mag);
    }
    return format_magnitude(static_cast<double>(*i), spec, field);  // int with f/e/g/% as float
  }
  const double v = std::fabs(std::get<double>(value));
  if (std::isnan(v)) return (spec.type && std::isupper(static_cast<unsigned char>(spec.type))) ? "NAN" : "nan";
  if (std::isinf(v)) return (spec.type && std::isupper(static_cast<unsigned char>(spec.type))) ? "INF" : "inf";
  const int p = spec.precision >= 0 ? spec.precision : 6;
  switch (spec.type) {
    case 'd':
      throw ConfigError("format field \"{" + field + "}\": format code 'd' needs an integer, "
                        "and this value is a float (use e.g. \":.4f\")");
    case 'f': case 'F': return printf_double("f", p, v);
    case 'e': return printf_double("e", p, v);
    case 'E': return printf_double("E", p, v);
    case 'g': return printf_double("g", p == 0 ? 1 : p, v);
    case 'G': return printf_double("G", p == 0 ? 1 : p, v);
    case '%': return printf_double("f", p, v * 100) + "%";
    default:
      if (spec.precision < 0) return python_repr(v);
      {  // like 'g', but a fixed-point result keeps one digit after the point
        std::string s = printf_double("g", p == 0 ? 1 : p, v);
        if (s.find_first_of(".e") == std::string::npos) s += ".0";
        return s;
      }
  }
}

bool is_negative(const FormatValue& value) {
  if (const int64_t* i = std::get_if<int64_t>(&value)) return *i < 0;
  return std::signbit(std::get<double>(value)) && !std::isnan(std::get<double>(value));
}

std::string format_field(const FormatValue& value, const Spec& spec, const std::string& field) {
  std::string body = format_magnitude(value, spec, field);
  if (spec.grouping) body = group_digits(body, spec.grouping);
  std::string sign;
  if (is_negative(value)) sign = "-";
  else if (spec.sign == '+') sign = "+";
  else if (spec.sign == ' ') sign = " ";
  const int pad = spec.width - static_cast<int>(sign.size() + body.size());
  if (pad <= 0) return sign + body;
  const std::string fill(static_cast<size_t>(pad), spec.fill);
  switch (spec.align) {
    case '<': return sign + body + fill;
    case '^': return std::string(static_cast<size_t>(pad / 2), spec.fill) + sign + body +
                     std::string(static_cast<size_t>(pad - pad / 2), spec.fill);
    case '=': return sign + fill + body;
    default: return fill + sign + body;  // numbers align right
  }
}

}  // namespace

std::string python_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // The fewest significant digits that read back as v.
  char buf[64];
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;  // "[-]d.ddde[+-]XX"
  const bool negative = s[0] == '-';
  if (negative) s.erase(0, 1);
  const size_t e = s.find('e');
  const int exponent = std::atoi(s.c_str() + e + 1);
  std::string digits = s.substr(0, e);
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.'
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int n = static_cast<int>(digits.size());
  const int point = exponent + 1;  // digits before the decimal point
  std::string out;
  if (point < -3 || point > 16) {
    out = digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "");
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  } else if (point <= 0) {
    out = "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (point >= n) {
    out = digits + std::string(static_cast<size_t>(point - n), '0') + ".0";
  } else {
    out = digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  return (negative ? "-" : "") + out;
}

std::string python_format(const std::string& pattern,
                          const std::map<std::string, FormatValue>& values) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '}') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      throw ConfigError("\"" + pattern + "\": single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos)
      throw ConfigError("\"" + pattern + "\": single '{' encountered in format string");
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const size_t colon = field.find(':');
    const std::string name = field.substr(0, colon);
    auto it = values.find(name);
    if (it == values.end()) {
      std::string known;
      for (const auto& [k, v] : values) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError("\"" + pattern + "\": no value named \"" + name +
                        "\" to fill in; available: " + known);
    }
    const Spec spec =
        colon == std::string::npos ? Spec{} : parse_spec(field.substr(colon + 1), field);
    out += format_field(it->second, spec, field);
    i = close;
  }
  return out;
}

}  // namespace fitrun::callbacks
