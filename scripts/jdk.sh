# Sourced by the scripts here: points JAVA_HOME at a JDK 21 or newer, or fails with a clear message.
# The machine's default java may be older (17); a newer one usually sits under /usr/lib/jvm.

java_major() {  # the major version of the JDK at $1, or 0
  local v
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  echo "${v:-0}" | cut -d. -f1
}

find_jdk() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/* /opt/java/* /opt/*jdk*; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/javac" ] && [ "$(java_major "$candidate")" -ge 21 ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

use_jdk() {
  local jdk
  if ! jdk=$(find_jdk); then
    echo "need a JDK 21 or newer: install one or set JAVA_HOME" >&2
    return 1
  fi
  export JAVA_HOME="$jdk"
  export PATH="$JAVA_HOME/bin:$PATH"
}
