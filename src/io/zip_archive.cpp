#include "io/zip_archive.hpp"

#include <zlib.h>

#include <algorithm>
#include <ctime>

#include "fitrun/error.hpp"

namespace fitrun::io::zip {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr size_t kLocalHeader = 30, kCentralHeader = 46, kEndRecord = 22;
/// Deflate's best ratio is about 1032:1; a member declaring more is corrupt or hostile.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t le16(const std::string& s, size_t p) {
  const auto* u = reinterpret_cast<const unsigned char*>(s.data() + p);
  return uint16_t(u[0] | (u[1] << 8));
}
uint32_t le32(const std::string& s, size_t p) {
  const auto* u = reinterpret_cast<const unsigned char*>(s.data() + p);
  return uint32_t(u[0]) | (uint32_t(u[1]) << 8) | (uint32_t(u[2]) << 16) | (uint32_t(u[3]) << 24);
}
void put16(std::string& s, uint16_t v) {
  s.push_back(char(v & 0xff));
  s.push_back(char(v >> 8));
}
void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

uint32_t crc_of(const std::string& data) {
  uLong crc = crc32(0, nullptr, 0);
  // crc32() takes at most 4 GiB - 1 at a time (uInt).
  for (size_t p = 0; p < data.size(); p += 1u << 30) {
    const size_t n = std::min<size_t>(data.size() - p, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + p), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

/// Inflates raw deflate data, growing the output as data comes (a declared size is a promise,
/// not something to allocate up front), and requires exactly `expected` bytes.
std::string inflate_raw(const char* data, uint32_t n, uint32_t expected, const std::string& where) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw IOError(where + ": zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  zs.avail_in = n;
  std::string out;
  size_t produced = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (produced == out.size()) {
      if (out.size() == expected) {  // full: the stream must end without more output
        char probe;
        zs.next_out = reinterpret_cast<Bytef*>(&probe);
        zs.avail_out = 1;
        rc = inflate(&zs, Z_FINISH);
        if (zs.avail_out == 0) rc = Z_DATA_ERROR;
        break;
      }
      out.resize(std::min<size_t>(expected, std::max<size_t>(out.size() * 2, 1 << 16)));
    }
    zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != expected)
    throw IOError(where + ": corrupt deflated data (" + std::to_string(produced) + " of " +
                  std::to_string(expected) + " bytes decompressed)");
  return out;
}

std::string deflate_raw(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(&out[0]);
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// MS-DOS date and time (local time), as zip headers hold them.
std::pair<uint16_t, uint16_t> dos_time(int64_t mtime) {
  if (mtime <= 0) return {0, 0x21};  // 1980-01-01 00:00
  const std::time_t t = static_cast<std::time_t>(mtime);
  std::tm tm{};
  localtime_r(&t, &tm);
  if (tm.tm_year < 80) return {0, 0x21};
  return {uint16_t((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2)),
          uint16_t(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday)};
}

}  // namespace

Reader::Reader(std::string bytes, std::string path, Kind kind)
    : bytes_(std::move(bytes)), path_(std::move(path)), kind_(std::move(kind)) {
  const std::string& b = bytes_;
  if (b.size() < kEndRecord || le32(b, 0) != kLocalSig)
    throw IOError(path_ + ": not " + kind_.a_file + " file (bad magic number; expected a zip archive)");
  // The end-of-central-directory record: the last 22 bytes plus a comment of up to 64 KiB.
  size_t eocd = std::string::npos;
  for (size_t p = b.size() - kEndRecord + 1; p-- > 0 && b.size() - p <= kEndRecord + 65535;)
    if (le32(b, p) == kEndSig) {
      eocd = p;
      break;
    }
  if (eocd == std::string::npos)
    throw IOError(path_ + ": truncated " + kind_.name + " (no end-of-central-directory record)");
  const uint16_t count = le16(b, eocd + 10);
  const uint32_t cd_offset = le32(b, eocd + 16);
  if (count == 0xFFFF || cd_offset == 0xFFFFFFFFu)
    throw IOError(path_ + ": zip64 archives are not supported");
  size_t p = cd_offset;
  for (uint16_t i = 0; i < count; ++i) {
    if (p + kCentralHeader > b.size() || le32(b, p) != kCentralSig)
      throw IOError(path_ + ": corrupt " + kind_.name + " central directory (entry " +
                    std::to_string(i) + ")");
    Entry e;
    e.method = le16(b, p + 10);
    e.crc = le32(b, p + 16);
    e.compressed_size = le32(b, p + 20);
    e.size = le32(b, p + 24);
    const uint16_t name_len = le16(b, p + 28), extra_len = le16(b, p + 30),
                   comment_len = le16(b, p + 32);
    const uint32_t local = le32(b, p + 42);
    if (p + kCentralHeader + name_len > b.size())
      throw IOError(path_ + ": corrupt " + kind_.name + " central directory");
    e.name = b.substr(p + kCentralHeader, name_len);
    p += kCentralHeader + name_len + extra_len + comment_len;
    const std::string where = path_ + ": " + e.name;
    if (e.compressed_size == 0xFFFFFFFFu || e.size == 0xFFFFFFFFu || local == 0xFFFFFFFFu)
      throw IOError(where + ": zip64 members are not supported");
    if (uint64_t(local) + kLocalHeader > b.size() || le32(b, local) != kLocalSig)
      throw IOError(where + ": corrupt " + kind_.name + " (bad local header)");
    e.data_offset = local + kLocalHeader + le16(b, local + 26) + le16(b, local + 28);
    if (uint64_t(e.data_offset) + e.compressed_size > b.size())
      throw IOError(where + ": truncated " + kind_.name + " member (" +
                    std::to_string(e.compressed_size) + " bytes announced, " +
                    std::to_string(b.size() > e.data_offset ? b.size() - e.data_offset : 0) +
                    " present)");
    entries_.push_back(std::move(e));
  }
}

const Entry* Reader::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::string Reader::read(const Entry& e, uint64_t max_size) const {
  const std::string where = path_ + ": " + e.name;
  if (e.size > max_size)
    throw IOError(where + ": declares " + std::to_string(e.size) + " bytes uncompressed, more " +
                  "than the " + std::to_string(max_size) + " fitrun reads");
  std::string member;
  if (e.method == 0) {
    if (e.compressed_size != e.size)
      throw IOError(where + ": corrupt " + kind_.name + " member (stored with " +
                    std::to_string(e.compressed_size) + " bytes but declares " +
                    std::to_string(e.size) + ")");
    member = bytes_.substr(e.data_offset, e.size);
  } else if (e.method == 8) {
    if (e.size > uint64_t(e.compressed_size) * kMaxDeflateRatio + 1024)
      throw IOError(where + ": declares " + std::to_string(e.size) + " bytes uncompressed from " +
                    std::to_string(e.compressed_size) + " compressed bytes, more than deflate " +
                    "can produce (corrupt or hostile archive)");
    member = inflate_raw(bytes_.data() + e.data_offset, e.compressed_size, e.size, where);
  } else {
    throw IOError(where + ": unsupported zip compression method " + std::to_string(e.method));
  }
  if (crc_of(member) != e.crc)
    throw IOError(where + ": CRC mismatch (corrupt " + kind_.name + " member)");
  return member;
}

std::string write(const std::vector<Member>& members, const std::string& path, int64_t mtime) {
  if (members.size() >= 0xFFFF) throw IOError(path + ": too many members for a zip archive");
  const auto [time, date] = dos_time(mtime);
  std::string zip, central;
  for (const auto& m : members) {
    const std::string stored = m.deflate ? deflate_raw(m.data) : std::string();
    const std::string& body = m.deflate ? stored : m.data;
    if (m.data.size() >= 0xFFFFFFFFu || zip.size() + body.size() + m.name.size() + 64 >= 0xFFFFFFFFu)
      throw IOError(path + ": " + m.name + " does not fit a zip archive without zip64 (4 GiB)");
    const uint32_t crc = crc_of(m.data);
    auto common = [&](std::string& s) {
      put16(s, 20);  // version needed: 2.0 (deflate)
      put16(s, 0);   // flags
      put16(s, m.deflate ? 8 : 0);
      put16(s, time);
      put16(s, date);
      put32(s, crc);
      put32(s, static_cast<uint32_t>(body.size()));
      put32(s, static_cast<uint32_t>(m.data.size()));
      put16(s, static_cast<uint16_t>(m.name.size()));
      put16(s, 0);  // extra length
    };
    const auto offset = static_cast<uint32_t>(zip.size());
    put32(zip, kLocalSig);
    common(zip);
    zip += m.name;
    zip += body;
    put32(central, kCentralSig);
    put16(central, 20);  // version made by
    common(central);
    put16(central, 0);  // comment length
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += m.name;
  }
  const auto cd_offset = static_cast<uint32_t>(zip.size());
  zip += central;
  put32(zip, kEndSig);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<uint16_t>(members.size()));
  put16(zip, static_cast<uint16_t>(members.size()));
  put32(zip, static_cast<uint32_t>(central.size()));
  put32(zip, cd_offset);
  put16(zip, 0);
  return zip;
}

}  // namespace fitrun::io::zip
