#!/usr/bin/env bash
# The SSH benchmark tests start a real OpenSSH server on 127.0.0.1 (Debian's openssh-server);
# install it on a fresh machine when it is missing and we may (root with apt).
set -euo pipefail
if command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
else
    echo "make test: the SSH tests need OpenSSH's sshd: sudo apt-get install openssh-server" >&2
    exit 2
fi
