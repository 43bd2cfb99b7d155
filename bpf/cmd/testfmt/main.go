// Command testfmt turns a `go test -json` event stream on stdin back into the
// readable `go test` output, so `make test TEST_JSON=...` can save the events
// and still show a person what happened.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct{ Output string }
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			fmt.Println(sc.Text()) // not an event (a build error, say): pass it through
			continue
		}
		fmt.Print(ev.Output)
	}
}
