#include "balancer/config.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <toml++/toml.h>

#include "common/text.h"
#include "common/tls.h"

namespace warren::balancer {

namespace {

// Reads one TOML table key by key and remembers which keys it was asked
// about, so that Done() can refuse the first key nobody reads. Every error
// names "origin: path.key".
class TableReader {
 public:
  TableReader(const toml::table& t, std::string origin, std::string path)
      : t_(t), origin_(std::move(origin)), path_(std::move(path)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& why) const {
    throw ConfigError(origin_ + ": " + path_ + key + ": " + why);
  }
  const toml::node* Get(const std::string& key) {
    known_.insert(key);
    return t_.get(key);
  }
  std::optional<std::string> Str(const std::string& key) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    if (auto s = n->value<std::string>()) return *s;
    Fail(key, "expected a string");
  }
  std::optional<int> Int(const std::string& key, int lo, int hi) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    auto v = n->value_exact<int64_t>();
    if (!v) Fail(key, "expected an integer");
    if (*v < lo || *v > hi)
      Fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return static_cast<int>(*v);
  }
  std::optional<bool> Bool(const std::string& key) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    if (auto b = n->value_exact<bool>()) return *b;
    Fail(key, "expected true or false");
  }
  std::optional<Millis> Duration(const std::string& key) {
    const toml::node* n = Get(key);
    if (!n) return std::nullopt;
    std::optional<Millis> d;
    auto i = n->value_exact<int64_t>();
    auto s = n->value_exact<std::string>();
    if ((i && *i < 0) || (s && !s->empty() && (*s)[0] == '-')) Fail(key, "must not be negative");
    if (i) d = Millis(*i);
    if (s) d = ParseDuration(*s);
    if (!d) Fail(key, "expected a duration such as \"500ms\", \"5s\" or \"2m\"");
    if (*d > kMaxDuration) Fail(key, "must be at most 2147483647ms (24.8 days)");
    return d;
  }
  // A duration that must be above 0, with `why` saying what 0 would mean.
  std::optional<Millis> PositiveDuration(const std::string& key, const std::string& why) {
    auto d = Duration(key);
    if (d && d->count() == 0) Fail(key, "must be above 0 (" + why + ")");
    return d;
  }
  std::optional<HostPort> Address(const std::string& key) {
    auto s = Str(key);
    if (!s) return std::nullopt;
    try {
      return ParseHostPort(*s, key);
    } catch (const ConfigError&) {
      Fail(key, "expected HOST:PORT, got '" + LogSafe(*s, 100) + "'");
    }
  }
  // As Str/Address, but missing (or empty) is an error saying `what` it is.
  std::string NeedStr(const std::string& key, const std::string& what) {
    auto v = Str(key);
    if (!v || v->empty()) Fail(key, "missing (" + what + ")");
    return *v;
  }
  // A name that goes into log lines and the stats page as it is.
  std::string NeedName(const std::string& what) {
    std::string name = NeedStr("name", what);
    for (unsigned char ch : name)
      if (ch < 0x20 || ch == 0x7F) Fail("name", "must not contain control characters");
    return name;
  }
  HostPort NeedAddress(const std::string& key, const std::string& what) {
    auto v = Address(key);
    if (!v) Fail(key, "missing (" + what + ")");
    return *v;
  }
  // The array of tables under `key` (absent: empty).
  const toml::array* Tables(const std::string& key) {
    const toml::node* n = Get(key);
    if (!n) return nullptr;
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) Fail(key, "expected an array of tables ([[" + path_ + key + "]])");
    return a;
  }
  const toml::table* Table(const std::string& key) {
    const toml::node* n = Get(key);
    if (!n) return nullptr;
    if (!n->is_table()) Fail(key, "expected a table ([" + key + "])");
    return n->as_table();
  }
  void Done() const {
    for (const auto& [k, v] : t_)
      if (!known_.count(std::string(k.str()))) Fail(std::string(k.str()), "unknown key");
  }
  const std::string& origin() const { return origin_; }
  const std::string& path() const { return path_; }

 private:
  const toml::table& t_;
  std::string origin_, path_;
  std::set<std::string> known_;
};

template <class T>
void Set(T& field, std::optional<T> v) {
  if (v) field = *v;
}

// check_tls_*: only beside check = "amqps"; the files are read and parsed
// now, so a missing or damaged one stops the start (or a reload) here.
void ReadCheckTls(TableReader& r, ServerConfig& s) {
  const char* const kKeys[] = {"check_tls_cert_file", "check_tls_key_file", "check_tls_ca_file",
                               "check_tls_verify", "check_tls_server_name"};
  CheckTls& t = s.check_tls;
  Set(t.files.cert_file, r.Str(kKeys[0]));
  Set(t.files.key_file, r.Str(kKeys[1]));
  Set(t.files.ca_file, r.Str(kKeys[2]));
  if (auto v = r.Str(kKeys[3])) t.files.verify = tls::ParseVerify(*v, r.origin() + ": " + r.path() + kKeys[3]);
  Set(t.server_name, r.Str(kKeys[4]));
  if (s.check != CheckKind::kAmqps) {
    for (const char* key : kKeys)
      if (r.Get(key)) r.Fail(key, "is only for check = \"amqps\"");
    return;
  }
  if (t.files.cert_file.empty() != t.files.key_file.empty())
    r.Fail(t.files.cert_file.empty() ? kKeys[1] : kKeys[0],
           t.files.cert_file.empty() ? "needs check_tls_cert_file (the certificate it is the key of)"
                                     : "needs check_tls_key_file (the certificate's private key)");
  for (unsigned char ch : t.server_name)
    if (ch <= ' ' || ch >= 0x7F) r.Fail(kKeys[4], "must be a host name or an IP address");
  if (t.server_name.empty()) t.server_name = s.address.host;
  // Each file alone first, so the error names its key; then together (the
  // key must match the certificate).
  std::string tls::Settings::*const kFiles[] = {&tls::Settings::cert_file, &tls::Settings::key_file,
                                                &tls::Settings::ca_file};
  for (int i = 0; i < 3; ++i) {
    tls::Settings one;
    one.*kFiles[i] = t.files.*kFiles[i];
    Result<tls::Pem> pem = tls::LoadPem(one);
    if (!pem.ok()) r.Fail(kKeys[i], LogSafe(pem.error().text, 300));
  }
  if (Result<tls::Pem> pem = tls::LoadPem(t.files); !pem.ok())
    r.Fail(kKeys[1], LogSafe(pem.error().text, 300));
}

ServerConfig ReadServer(TableReader& r) {
  ServerConfig s;
  s.name = r.NeedName("every server needs a name");
  s.address = r.NeedAddress("address", "HOST:PORT of an AMQP node");
  if (s.address.port == 0) r.Fail("address", "port 0 is not a server's port");
  if (const toml::node* n = r.Get("check")) {
    auto text = n->value_exact<std::string>();
    auto flag = n->value_exact<bool>();
    if (flag && !*flag) s.check = CheckKind::kNone;
    else if (text && *text == "tcp") s.check = CheckKind::kTcp;
    else if (text && *text == "amqp") s.check = CheckKind::kAmqp;
    else if (text && *text == "amqps") s.check = CheckKind::kAmqps;
    else r.Fail("check", "must be \"tcp\", \"amqp\", \"amqps\" or false");
  }
  ReadCheckTls(r, s);
  Set(s.inter, r.Duration("inter"));
  if (s.inter.count() < 10) r.Fail("inter", "must be at least 10ms");
  Set(s.rise, r.Int("rise", 1, 1000));
  Set(s.fall, r.Int("fall", 1, 1000));
  Set(s.weight, r.Int("weight", 0, 256));
  Set(s.backup, r.Bool("backup"));
  r.Done();
  return s;
}

ListenConfig ReadListen(TableReader& r) {
  ListenConfig l;
  l.name = r.NeedName("every listener needs a name");
  l.bind = r.NeedAddress("bind", "HOST:PORT to accept clients on");
  if (auto mode = r.Str("mode"); mode && *mode != "tcp")
    r.Fail("mode", "only \"tcp\" is supported (AMQP is forwarded as a byte stream)");
  if (auto b = r.Str("balance")) {
    if (*b == "roundrobin") l.balance = Balance::kRoundRobin;
    else if (*b == "leastconn") l.balance = Balance::kLeastConn;
    else if (*b == "source") l.balance = Balance::kSource;
    else r.Fail("balance", "must be \"roundrobin\", \"leastconn\" or \"source\", not '" +
                LogSafe(*b, 100) + "'");
  }
  Set(l.maxconn, r.Int("maxconn", 0, 1000000));
  Set(l.maxconn_per_source, r.Int("maxconn_per_source", 0, 1000000));
  std::set<std::string> names;
  if (const toml::array* servers = r.Tables("server")) {
    for (size_t i = 0; i < servers->size(); ++i) {
      TableReader sr(*servers->get(i)->as_table(), r.origin(),
                     r.path() + "server[" + std::to_string(i) + "].");
      l.servers.push_back(ReadServer(sr));
      if (!names.insert(l.servers.back().name).second)
        sr.Fail("name", "'" + LogSafe(l.servers.back().name, 100) + "' is used twice in this listener");
    }
  }
  if (l.servers.empty()) r.Fail("server", "a listener needs at least one [[listen.server]]");
  r.Done();
  return l;
}

// [defaults] timeout_*: each above 0, since a session without an idle limit
// would be held for ever by a peer that goes silent.
void ReadTimeouts(TableReader& r, BalancerConfig& c) {
  Set(c.timeout_connect, r.PositiveDuration("timeout_connect", "a connect needs a deadline"));
  const std::string idle = "a silent peer would hold its session for ever";
  Set(c.timeout_client, r.PositiveDuration("timeout_client", idle));
  Set(c.timeout_server, r.PositiveDuration("timeout_server", idle));
  c.timeout_client_fin = std::min(c.timeout_client, kDefaultFinTimeout);
  c.timeout_server_fin = std::min(c.timeout_server, kDefaultFinTimeout);
  Set(c.timeout_client_fin, r.PositiveDuration("timeout_client_fin", idle));
  Set(c.timeout_server_fin, r.PositiveDuration("timeout_server_fin", idle));
}

BalancerConfig Read(const toml::table& root, const std::string& origin) {
  BalancerConfig c;
  c.stats = StatsConfig{};
  TableReader top(root, origin, "");
  if (const toml::table* g = top.Table("global")) {
    TableReader r(*g, origin, "global.");
    Set(c.maxconn, r.Int("maxconn", 1, 1000000));
    Set(c.hard_stop_after, r.Duration("hard_stop_after"));
    r.Done();
  }
  if (const toml::table* d = top.Table("defaults")) {
    TableReader r(*d, origin, "defaults.");
    if (auto mode = r.Str("mode"); mode && *mode != "tcp") r.Fail("mode", "only \"tcp\" is supported");
    ReadTimeouts(r, c);
    Set(c.retries, r.Int("retries", 0, 100));
    r.Done();
  }
  std::set<std::string> names;
  if (const toml::array* listens = top.Tables("listen")) {
    for (size_t i = 0; i < listens->size(); ++i) {
      TableReader r(*listens->get(i)->as_table(), origin, "listen[" + std::to_string(i) + "].");
      c.listens.push_back(ReadListen(r));
      if (!names.insert(c.listens.back().name).second)
        r.Fail("name", "'" + LogSafe(c.listens.back().name, 100) + "' is used twice");
    }
  }
  if (c.listens.empty()) top.Fail("listen", "at least one [[listen]] is needed");
  if (const toml::table* s = top.Table("stats")) {
    TableReader r(*s, origin, "stats.");
    c.stats.bind = r.NeedAddress("bind", "HOST:PORT of the stats page");
    Set(c.stats.uri, r.Str("uri"));
    if (c.stats.uri.empty() || c.stats.uri[0] != '/') r.Fail("uri", "must start with '/'");
    for (unsigned char ch : c.stats.uri)
      if (ch <= ' ' || ch >= 0x7F || ch == '?' || ch == '#')
        r.Fail("uri", "must be a path of visible ASCII characters without '?' or '#'");
    Set(c.stats.refresh, r.PositiveDuration("refresh", "the page would reload without pause"));
    r.Done();
  }
  top.Done();
  return c;
}

}  // namespace

BalancerConfig DefaultConfig() {
  BalancerConfig c;
  ServerConfig node{.name = "local", .address = {"127.0.0.1", 5673}, .check = CheckKind::kAmqp};
  c.listens.push_back(ListenConfig{.name = "amqp", .bind = {"0.0.0.0", 5672}, .servers = {node}});
  c.stats.bind = HostPort{"0.0.0.0", 8100};
  return c;
}

BalancerConfig LoadConfigText(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    throw ConfigError(origin + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  }
  return Read(root, origin);
}

BalancerConfig LoadConfigFile(const std::string& path) {
  std::string text;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[8192];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
  } else {
    throw ConfigError(path + ": cannot be read");
  }
  return LoadConfigText(text, path);
}

std::optional<Millis> ParseDuration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return std::nullopt;
  std::string unit = text.substr(i);
  int64_t scale = 0;
  if (unit.empty() || unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;
  else return std::nullopt;
  // Past kMaxDuration the exact value does not matter (it is refused), so
  // any larger one is kMaxDuration + 1, computed without overflowing.
  const Millis too_long = kMaxDuration + Millis(1);
  if (i > 12) return too_long;
  int64_t n = std::stoll(text.substr(0, i));
  if (n > kMaxDuration.count() / scale) return too_long;
  return Millis(n * scale);
}

// Indexed by the enums' order.
const char* BalanceName(Balance b) {
  static const char* const kNames[] = {"roundrobin", "leastconn", "source"};
  return kNames[static_cast<int>(b)];
}

const char* CheckName(CheckKind c) {
  static const char* const kNames[] = {"none", "tcp", "amqp", "amqps"};
  return kNames[static_cast<int>(c)];
}

}  // namespace warren::balancer
