#!/bin/sh
# A throwaway key-only sshd for tests (no systemd), on ADDRESS (default
# 127.0.0.1): installs openssh-server when missing, makes a host key and a
# user key in DIR, prints "PORT" once sshd listens, and then is sshd
# (exec), so that killing this process ends it.
# Usage: sshd.sh DIR [ADDRESS]
set -eu
T=$1
A=${2:-127.0.0.1}
mkdir -p "$T"
chmod 700 "$T"
# The privilege separation user too: it is made when the package is
# configured, after its files are unpacked, and a test starting two sshds
# at once saw the binary of the other's install but not the user ("does
# not exist"). A second apt-get waits for the first's lock, so for the
# whole install.
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1 ||
    ! id sshd >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 openssh-server openssh-client >&2
fi
[ -f "$T/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$T/host_ed25519"
[ -f "$T/user_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$T/user_ed25519"
cp "$T/user_ed25519.pub" "$T/authorized_keys"
chmod 600 "$T/authorized_keys"
PORT=$(python3 -c 'import socket,sys;s=socket.socket();s.bind((sys.argv[1],0));print(s.getsockname()[1])' "$A")
cat > "$T/sshd_config" <<CFG
Port $PORT
ListenAddress $A
HostKey $T/host_ed25519
AuthorizedKeysFile $T/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
PidFile $T/sshd.pid
StrictModes no
AllowTcpForwarding yes
MaxStartups 200
MaxSessions 100
CFG
mkdir -p /run/sshd
chmod 755 /run/sshd
/usr/sbin/sshd -t -f "$T/sshd_config"
# The port is printed once sshd's log says it listens; sshd itself stays
# this process, so that killing it ends sshd.
( sleep 0.2; i=0
  while [ $i -lt 200 ] && ! grep -q 'Server listening' "$T/sshd.log" 2>/dev/null; do
      sleep 0.05; i=$((i + 1))
  done
  echo "$PORT" ) &
exec /usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log"
