// Checksums against the standard test vectors, and get_file against a local HTTP server that
// the test starts on 127.0.0.1 (success, checksum mismatch, 404, server down).
#include <catch2/catch.hpp>
#include <fitrun/datasets/cifar.hpp>
#include <fitrun/datasets/download.hpp>
#include <fitrun/error.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "files.hpp"

using namespace fitrun;
using namespace fitrun::datasets;
using namespace ds_test;

TEST_CASE("sha256 and md5 match the standard test vectors", "[datasets][download]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
        "57edf4a22be3c955ac49da2e2107b67a");
}

namespace {

using Files = std::map<std::string, std::string>;

/// A one-thread HTTP/1.0 server on 127.0.0.1 (port chosen by binding port 0) serving `files`
/// by path, 404 otherwise. It answers at most `max_requests` and stops at destruction.
class LocalServer {
 public:
  explicit LocalServer(std::map<std::string, std::string> files, int max_requests = 8)
      : files_(std::move(files)), max_requests_(max_requests) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd_, 4) == 0);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LocalServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int requests() const { return served_; }

 private:
  void serve() {
    while (!stop_ && served_ < max_requests_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      const size_t a = request.find(' '), b = request.find(' ', a + 1);
      const std::string path = a == std::string::npos ? "" : request.substr(a + 1, b - a - 1);
      auto it = files_.find(path);
      std::string response =
          it == files_.end()
              ? "HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"
              : "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(it->second.size()) + "\r\n\r\n" + it->second;
      for (size_t sent = 0; sent < response.size();) {
        const ssize_t n = send(c, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(c);
      ++served_;
    }
  }

  std::map<std::string, std::string> files_;
  int max_requests_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {(std::istreambuf_iterator<char>(in)), {}};
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_CASE("get_file downloads verifies and caches", "[datasets][download]") {
  TempDir cache;
  const std::string body(100000, 'z');
  LocalServer server(Files{{"/data/set.bin", body}});
  const std::string path = get_file("sub/set.bin", server.url("/data/set.bin"), sha256_hex(body), cache.path);
  CHECK(path == cache / "sub/set.bin");
  CHECK(read(path) == body);
  CHECK(files_in(cache.path) == 1);  // no temporary file left
  // Cached: a second call does not contact the server.
  CHECK(get_file("sub/set.bin", server.url("/data/set.bin"), sha256_hex(body), cache.path) == path);
  CHECK(server.requests() == 1);
  // MD5 sums (32 hex digits) are accepted too, in any case.
  std::string upper = md5_hex(body);
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  CHECK(read(get_file("md5.bin", server.url("/data/set.bin"), upper, cache.path)) == body);
}

TEST_CASE("get_file discards a download whose checksum does not match", "[datasets][download]") {
  TempDir cache;
  LocalServer server(Files{{"/x.bin", "tampered"}});
  const std::string want = sha256_hex("original");
  CHECK_THROWS_WITH(get_file("x.bin", server.url("/x.bin"), want, cache.path),
                    "checksum mismatch for " + server.url("/x.bin") + ": SHA-256 " + sha256_hex("tampered") +
                        ", expected " + want + "; the download was discarded (nothing written to " +
                        cache / "x.bin" + ")");
  CHECK(files_in(cache.path) == 0);
}

TEST_CASE("get_file reports HTTP errors and an unreachable server with the URL and cache path", "[datasets][download]") {
  TempDir cache;
  {
    LocalServer server(Files{});
    CHECK_THROWS_WITH(get_file("missing.bin", server.url("/missing.bin"), "", cache.path),
                      "cannot download " + server.url("/missing.bin") + " to " + cache / "missing.bin" +
                          ": HTTP 404 (offline? put the file at that path by hand, or point FITRUN_DATA_DIR at a "
                          "folder that has it)");
  }
  // A port nobody listens on: bind port 0, note the port, close the socket.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/mnist.npz";
  CHECK_THROWS_WITH(get_file("mnist.npz", url, "", cache.path),
                    Catch::StartsWith("cannot download " + url + " to " + cache / "mnist.npz" + ": ") &&
                        Catch::Contains("offline?"));
  CHECK(files_in(cache.path) == 0);
  CHECK_THROWS_WITH(get_file("y.bin", url, "abc", cache.path),
                    "get_file: file_hash for y.bin must be 64 (SHA-256) or 32 (MD5) hex digits");
}

TEST_CASE("cache_dir honours the argument then FITRUN_DATA_DIR then HOME", "[datasets][download]") {
  const char* old = std::getenv("FITRUN_DATA_DIR");
  const std::string saved = old ? old : "";
  CHECK(cache_dir("/data/here") == "/data/here");
  setenv("FITRUN_DATA_DIR", "/from/env", 1);
  CHECK(cache_dir() == "/from/env");
  CHECK(cache_dir("/arg") == "/arg");
  unsetenv("FITRUN_DATA_DIR");
  CHECK(cache_dir() == std::string(std::getenv("HOME")) + "/.fitrun/datasets");
  if (old) setenv("FITRUN_DATA_DIR", saved.c_str(), 1);
}
