#pragma once
// The dataset cache and downloads (Keras' get_file): files live in a cache folder and are
// fetched over HTTP(S) with libcurl when missing, checksum-verified, and written atomically.
#include <string>

namespace fitrun::datasets {

/// The cache folder: `override_dir` when not empty, else $FITRUN_DATA_DIR, else
/// ~/.fitrun/datasets.
std::string cache_dir(const std::string& override_dir = "");

/// The path of <cache>/<fname> (fname may contain a sub-folder, "fashion-mnist/x.gz"). When
/// the file is missing it downloads `origin` to a temporary file, checks `file_hash` (64 hex
/// digits: SHA-256; 32: MD5, as Keras; empty: no check) and renames it into place. A failed
/// download or a checksum mismatch leaves no file behind and throws IOError naming the URL
/// and the cache path. Files already in the cache are used as they are.
std::string get_file(const std::string& fname, const std::string& origin, const std::string& file_hash = "",
                     const std::string& cache_dir = "");

/// Lower-case hex digests.
std::string sha256_hex(const std::string& bytes);
std::string md5_hex(const std::string& bytes);

}  // namespace fitrun::datasets
