// Command crlverify publishes signed certificate revocation lists and checks
// health certificates against them offline. Run "crlverify --help".
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:]))
}
