#include "broker/cluster/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "broker/store/file_io.h"
#include "common/config.h"

#include <grpcpp/security/credentials.h>

namespace warren::cluster {
namespace {

constexpr size_t kGeneratedSize = 32;  // A-Z: about 150 bits

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw ConfigError("cluster secret file " + path + ": " + what);
}

std::string Errno() { return std::strerror(errno); }

// kGeneratedSize letters A-Z from the system's random source, without bias.
std::string RandomSecret(const std::string& path) {
  std::string out;
  while (out.size() < kGeneratedSize) {
    unsigned char bytes[64];
    if (RAND_bytes(bytes, sizeof bytes) != 1) Fail(path, "no random bytes to make a secret from");
    for (unsigned char b : bytes)
      if (b < 26 * 9 && out.size() < kGeneratedSize) out.push_back(static_cast<char>('A' + b % 26));
  }
  return out;
}

// Writes a new secret (store::ReplaceFile: a temporary file synced and
// renamed, the directory synced), so a crash leaves no half-written secret.
void Create(const std::string& path, const std::string& secret) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) Fail(path, "its directory cannot be made: " + ec.message());
  Status s = store::ReplaceFile(store::FileSystem::Default(), path, secret + "\n", 0600);
  if (!s.ok()) Fail(path, "cannot be created: " + s.error().text);
}

std::string ReadSecretFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) Fail(path, "cannot be read: " + Errno());
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    Fail(path, "is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    close(fd);
    Fail(path, "must be accessible by its owner only (chmod 600)");
  }
  std::string text;
  char buf[512];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      Fail(path, "cannot be read: " + Errno());
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSecretSize + 2) break;  // too long; said below
  }
  close(fd);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

std::string CheckSecretText(std::string_view text) {
  if (text.empty()) return "is empty";
  if (text.size() > kMaxSecretSize)
    return "holds more than " + std::to_string(kMaxSecretSize) + " characters";
  for (char c : text)
    if (c < '!' || c > '~') return "may hold only printable ASCII characters, no spaces";
  return "";
}

Secret Secret::LoadOrCreate(const std::string& path, bool& created) {
  created = false;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) Fail(path, "cannot be read: " + Errno());
    Create(path, RandomSecret(path));
    created = true;
  }
  std::string text = ReadSecretFile(path);
  if (std::string why = CheckSecretText(text); !why.empty()) Fail(path, why);
  return Secret(std::move(text));
}

Secret Secret::FromText(std::string text) { return Secret(std::move(text)); }

void Secret::UseTls(std::shared_ptr<grpc::ChannelCredentials> channel) {
  tls_ = std::move(channel);
}

std::shared_ptr<grpc::ChannelCredentials> Secret::ChannelCredentials() const {
  return tls_ ? tls_ : grpc::InsecureChannelCredentials();
}

std::string Secret::Prove(std::string_view transcript) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), text_.data(), static_cast<int>(text_.size()),
       reinterpret_cast<const unsigned char*>(transcript.data()), transcript.size(), mac, &size);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

bool Secret::Verify(std::string_view transcript, std::string_view proof) const {
  if (proof.size() != kProofSize) return false;
  std::string expected = Prove(transcript);
  return CRYPTO_memcmp(expected.data(), proof.data(), kProofSize) == 0;
}

}  // namespace warren::cluster
