"""A throwaway Mosquitto broker on a free loopback port, for the tests and
the MQTT benchmark: Debian's `mosquitto` (make installs it), its own
config in a temporary directory, no persistence (a restart forgets every
retained message, as a broker without persistence does).

    broker = Broker(tls=(cert_pem, key_pem))   # tls optional: a second listener
    broker.start(); broker.port; broker.tls_port; broker.stop(); broker.kill()

Started as root, mosquitto drops to the user `mosquitto`: its directory and
files are made readable by that user.
"""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from ports import free_port

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"


class Broker:
    def __init__(self, tls=None, passwords=None):
        """`tls`: (certificate chain PEM, key PEM) for a TLS listener;
        `passwords`: {user: password}, then anonymous clients are refused."""
        if not os.path.exists(MOSQUITTO):
            raise RuntimeError("no {} (make installs Debian's mosquitto package)".format(MOSQUITTO))
        self.dir = tempfile.mkdtemp(prefix="ugate-mosquitto-")
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        lines = ["per_listener_settings false", "persistence false", "log_dest stderr",
                 "log_type error", "log_type warning", "log_type notice", "log_type information",
                 "listener {} 127.0.0.1".format(self.port)]
        if passwords:
            path = self._write("passwords", "")
            for user, password in passwords.items():  # mosquitto_passwd hashes them
                subprocess.run([MOSQUITTO_PASSWD, "-b", path, user, password], check=True, capture_output=True)
            lines += ["allow_anonymous false", "password_file " + path]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += ["listener {} 127.0.0.1".format(self.tls_port),
                      "certfile " + self._write("server.pem", tls[0]),
                      "keyfile " + self._write("server.key", tls[1])]
        self.config = self._write("mosquitto.conf", "\n".join(lines) + "\n")
        self._readable()
        self.proc = None
        self.log_path = os.path.join(self.dir, "mosquitto.log")

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def _readable(self):
        """The broker's user can read its files (it is us unless we are root)."""
        if os.geteuid() == 0:
            user = pwd.getpwnam("mosquitto")
            for path in [self.dir] + [os.path.join(self.dir, n) for n in os.listdir(self.dir)]:
                os.chown(path, user.pw_uid, user.pw_gid)

    def start(self, timeout=10):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log_path, "a"))
        deadline = time.time() + timeout
        for port in filter(None, (self.port, self.tls_port)):
            while True:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.kill()
                    raise RuntimeError("mosquitto did not start:\n" + self.log())
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    time.sleep(0.02)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
