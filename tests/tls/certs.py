"""A test certificate authority made with openssl(1), for the TLS tests of
every process (docs/tls.md). Nothing here is fixed in the tree: each test
run makes its own keys in a temporary directory.

    pki = Pki(directory)                 # a CA: pki.ca (PEM path)
    server = pki.issue("localhost")      # .cert, .key; SAN localhost, 127.0.0.1
    client = pki.issue("alice", client=True)
    old = pki.issue("bob", client=True, expired=True)
    other = Pki(directory2, name="Other CA")   # a CA nobody trusts
"""
import os
import subprocess


def _openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), p.stderr.strip()))


class Issued:
    def __init__(self, cert, key):
        self.cert = cert
        self.key = key


class Pki:
    def __init__(self, directory, name="Warren Test CA"):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.name = name
        slug = name.lower().replace(" ", "-")
        self.ca = os.path.join(directory, slug + ".pem")
        self.ca_key = os.path.join(directory, slug + ".key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", self.ca_key, "-out", self.ca, "-days", "2",
                 "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:true",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
        self._serial = 0

    def issue(self, cn, client=False, expired=False, hosts=("localhost", "127.0.0.1")):
        """A certificate for `cn` signed by this CA. A server certificate
        names `hosts` (DNS names and IP addresses); every certificate may also
        authenticate a client. expired: valid only in the past."""
        self._serial += 1
        base = os.path.join(self.dir, "%s-%d" % (cn.replace("/", "_"), self._serial))
        key, csr, cert, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/CN=" + cn + "/O=Warren tests",
                 cwd=self.dir)
        lines = ["basicConstraints=CA:false",
                 "keyUsage=critical,digitalSignature,keyEncipherment",
                 "extendedKeyUsage=serverAuth,clientAuth"]
        if not client:
            names = []
            for h in hosts:
                kind = "IP" if h.replace(".", "").isdigit() or ":" in h else "DNS"
                names.append("%s:%s" % (kind, h))
            lines.append("subjectAltName=" + ",".join(names))
        with open(ext, "w") as f:
            f.write("\n".join(lines) + "\n")
        if expired:
            # openssl x509 cannot date a certificate in the past; `ca` can.
            self._sign_dated(csr, cert, ext, "20200101000000Z", "20200102000000Z")
        else:
            _openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                     "-set_serial", str(1000 + self._serial), "-days", "2", "-out", cert,
                     "-extfile", ext, cwd=self.dir)
        return Issued(cert, key)

    def _sign_dated(self, csr, cert, ext, start, end):
        db = os.path.join(self.dir, "ca-db")
        os.makedirs(db, exist_ok=True)
        index = os.path.join(db, "index.txt")
        if not os.path.exists(index):
            open(index, "w").close()
        conf = os.path.join(db, "ca.cnf")
        with open(conf, "w") as f:
            f.write("[ca]\ndefault_ca=test\n[test]\ndatabase=%s\nnew_certs_dir=%s\n"
                    "serial=%s\ndefault_md=sha256\npolicy=any\nunique_subject=no\n"
                    "[any]\ncommonName=supplied\n" % (index, db, os.path.join(db, "serial")))
        with open(os.path.join(db, "serial"), "w") as f:
            f.write("%04X\n" % (2000 + self._serial))
        _openssl("ca", "-batch", "-config", conf, "-cert", self.ca, "-keyfile", self.ca_key,
                 "-in", csr, "-out", cert, "-extfile", ext, "-startdate", start,
                 "-enddate", end, "-notext", cwd=self.dir)
