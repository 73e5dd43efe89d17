// Command etcd is the etcd server built from the published go.etcd.io/etcd
// modules; the upstream server module cannot be `go install`ed because its
// go.mod carries local replace directives.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
