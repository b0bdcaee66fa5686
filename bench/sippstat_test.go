//go:build linux

package bench

import (
	"errors"
	"strings"
	"testing"
)

func TestReadSippStat(t *testing.T) {
	// testdata/sipp-3.6.1-stat.csv is a real -trace_stat file: 2,000 calls
	// at 200/s against the anyphone endpoint, one warning.
	st, err := ReadSippStat("testdata/sipp-3.6.1-stat.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Totals()
	if err != nil {
		t.Fatal(err)
	}
	want := SippTotals{Created: 2000, Successful: 2000}
	if got != want {
		t.Errorf("totals = %+v, want %+v", got, want)
	}
	if w, _ := st.Int("Warnings(C)"); w != 1 {
		t.Errorf("Warnings(C) = %d, want 1", w)
	}
}

func TestParseSippStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		col     string
		want    int
		wantErr error
	}{
		{"last line wins", "A;FailedCall(C);\n1;2;\n3;4;\n", "FailedCall(C)", 4, nil},
		{"blank lines and CRLF", "A;Retransmissions(C);\r\n\r\n1;7;\r\n", "Retransmissions(C)", 7, nil},
		{"header only", "A;B;\n", "A", 0, ErrNoData},
		{"missing column", "A;B;\n1;2;\n", "FailedCall(C)", 0, ErrNoColumn},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseSippStat(strings.NewReader(tt.in))
			if err == nil {
				var n int
				n, err = st.Int(tt.col)
				if err == nil && n != tt.want {
					t.Errorf("%s: %s = %d, want %d", tt.name, tt.col, n, tt.want)
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
		})
	}
}
