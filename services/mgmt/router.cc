#include "mgmt/router.h"

#include <cctype>

namespace warren::mgmt {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string Decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool Matches(const std::vector<std::string>& pattern, const std::vector<std::string>& path,
             std::vector<std::string>& args) {
  if (pattern.size() != path.size()) return false;
  args.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "{}") args.push_back(path[i]);
    else if (pattern[i] != path[i]) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> PathSegments(const std::string& target) {
  std::string path = target.substr(0, target.find('?'));
  std::vector<std::string> out;
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(Decode(path.substr(start, slash - start)));
    start = slash + 1;
  }
  // "/api/vhosts/" is "/api/vhosts".
  if (out.size() > 1 && out.back().empty()) out.pop_back();
  return out;
}

std::string EncodeSegment(const std::string& segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, PathSegments(pattern), std::move(handler)});
}

Reply Router::Dispatch(const httplib::Request& request, NodeClient& nodes) const {
  std::vector<std::string> path = PathSegments(request.target);
  std::vector<std::string> args;
  const Route* found = nullptr;
  bool path_known = false;
  for (const Route& r : routes_) {
    if (!Matches(r.pattern, path, args)) continue;
    path_known = true;
    if (r.method == request.method) {
      found = &r;
      break;
    }
  }
  if (!found) {
    if (path_known) return Error(405, "method_not_allowed", request.method + " not allowed here");
    return NotFound("Object Not Found");
  }
  std::string authorization = request.get_header_value("Authorization");
  if (authorization.rfind("Basic ", 0) != 0) return Unauthorized("Login failed");
  Call call{request, nodes, authorization, std::move(args)};
  return found->handler(call);
}

}  // namespace warren::mgmt
