#pragma once
// Unpacking selected members of a .tar.gz (internal; for the CIFAR archives).
#include <string>
#include <vector>

namespace fitrun::datasets::detail {

/// Writes each of `members` (paths inside the archive) to <dest_dir>/<member>, atomically.
/// Only the named members are written, so a hostile archive cannot place files elsewhere.
/// IOError naming the archive when it is corrupt, truncated or lacks a member.
void extract_tar_gz(const std::string& archive, const std::string& dest_dir,
                    const std::vector<std::string>& members);

}  // namespace fitrun::datasets::detail
