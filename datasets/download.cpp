#include "fitrun/datasets/download.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "file_bytes.hpp"
#include "fitrun/error.hpp"

namespace fitrun::datasets {

std::string cache_dir(const std::string& override_dir) {
  if (!override_dir.empty()) return override_dir;
  if (const char* env = std::getenv("FITRUN_DATA_DIR"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.fitrun/datasets";
}

namespace {

size_t write_to_file(char* data, size_t size, size_t count, void* file) {
  return std::fwrite(data, size, count, static_cast<FILE*>(file)) * size;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Fetches `url` into `tmp`; throws IOError naming the URL and the cache path on failure.
void fetch(const std::string& url, const std::string& tmp, const std::string& path) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  FILE* out = std::fopen(tmp.c_str(), "wb");
  if (!out) throw IOError(path + ": cannot write the download to " + tmp);
  CURL* curl = curl_easy_init();
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_to_file);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // give up after a minute without data
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "fitrun");
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  const bool write_failed = std::fclose(out) != 0;
  if (rc != CURLE_OK || write_failed) {
    std::remove(tmp.c_str());
    std::string why = rc == CURLE_HTTP_RETURNED_ERROR ? "HTTP " + std::to_string(status)
                      : rc != CURLE_OK ? std::string(*error ? error : curl_easy_strerror(rc))
                                       : "write error";
    throw IOError("cannot download " + url + " to " + path + ": " + why +
                  " (offline? put the file at that path by hand, or point FITRUN_DATA_DIR at a folder "
                  "that has it)");
  }
}

}  // namespace

std::string get_file(const std::string& fname, const std::string& origin, const std::string& file_hash,
                     const std::string& dir) {
  const std::string root = cache_dir(dir);
  const std::string path = root + "/" + fname;
  if (detail::file_exists(path)) return path;
  const std::string expected = lower(file_hash);
  if (!expected.empty() && expected.size() != 64 && expected.size() != 32)
    throw ConfigError("get_file: file_hash for " + fname + " must be 64 (SHA-256) or 32 (MD5) hex digits");
  detail::make_dirs(path.substr(0, path.rfind('/')));
  const std::string tmp = path + ".part." + std::to_string(getpid());
  std::fprintf(stderr, "Downloading data from %s\n", origin.c_str());
  fetch(origin, tmp, path);
  if (!expected.empty()) {
    const std::string bytes = detail::read_file(tmp);
    const bool sha = expected.size() == 64;
    const std::string actual = sha ? sha256_hex(bytes) : md5_hex(bytes);
    if (actual != expected) {
      std::remove(tmp.c_str());
      throw IOError("checksum mismatch for " + origin + ": " + (sha ? "SHA-256 " : "MD5 ") + actual +
                    ", expected " + expected + "; the download was discarded (nothing written to " + path +
                    ")");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw IOError(path + ": cannot move the download into place");
  }
  return path;
}

}  // namespace fitrun::datasets
