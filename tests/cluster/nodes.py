"""What the cluster tests share: the secret every node of a test is given, and
a group of harness.Broker nodes started together and stopped together."""
import os

from ctl import harness

NO_DEFINITIONS = {"vhosts": [], "users": [], "permissions": []}
SECRET = "CLUSTERTESTSECRETABCDEFGHIJKLMN"


def secret_file(test, secret=SECRET):
    """A secret file the node may read (0600, as a node requires)."""
    path = harness.temp_file(test, secret + "\n", suffix=".secret")
    os.chmod(path, 0o600)
    return path


class NodeGroup:
    """`self.nodes`, filled by the subclass: all started on enter (the ones
    started are stopped again if one fails), all stopped on exit."""

    nodes = ()

    def __enter__(self):
        try:
            for n in self.nodes:
                n.__enter__()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for n in self.nodes:
            n.stop()
