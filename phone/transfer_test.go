package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// connect dials from a to b, answers at b and waits until both hear each
// other's tone (when they send one). It returns a's and b's call ids.
func connect(t *testing.T, a, b *phonetest.Phone, aTone, bTone float64) (phone.CallID, phone.CallID) {
	t.Helper()
	id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := answerOn(t, b)
	a.Events.WaitState(t, id, phone.CallActive)
	b.Events.WaitState(t, in.ID, phone.CallActive)
	if bTone > 0 {
		a.Media.WaitTone(t, id, bTone, 5*time.Second)
	}
	if aTone > 0 {
		b.Media.WaitTone(t, in.ID, aTone, 5*time.Second)
	}
	return id, in.ID
}

func transferEvents(p *phonetest.Phone, id phone.CallID) []phone.TransferProgress {
	var out []phone.TransferProgress
	for _, ev := range p.Events.All() {
		if tp, ok := ev.(phone.TransferProgress); ok && tp.CallID == id {
			out = append(out, tp)
		}
	}
	return out
}

func TestBlindTransfer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		aCalls    bool // A placed the call to B (else B called A)
		policy    phone.TransferPolicy
		cRejects  bool
		wantOK    bool
		wantNotif int
	}{
		{name: "A called B, accepted", aCalls: true, policy: phone.TransferAuto, wantOK: true, wantNotif: 200},
		{name: "B called A, accepted", aCalls: false, policy: phone.TransferAuto, wantOK: true, wantNotif: 200},
		{name: "target busy", aCalls: true, policy: phone.TransferAuto, cRejects: true, wantNotif: 486},
		{name: "transferee refuses", aCalls: true, policy: phone.TransferReject, wantNotif: 603},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", TransferPolicy: tc.policy})
			c := phonetest.NewPhone(t, 2000, &phone.Config{Name: "carol"})
			var aID, bID phone.CallID
			if tc.aCalls {
				aID, bID = connect(t, a, b, 440, 1000)
			} else {
				bID, aID = connect(t, b, a, 1000, 440)
			}
			if err := a.Transfer(aID, c.URI()); err != nil {
				t.Fatalf("transfer: %v", err)
			}
			if tc.policy == phone.TransferReject {
				// nothing reaches carol
			} else {
				in := c.Events.WaitState(t, "", phone.CallIncoming)
				if tc.cRejects {
					if err := c.Reject(in.ID, 486, ""); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := c.Answer(in.ID); err != nil {
						t.Fatal(err)
					}
					if in.Headers["Referred-By"] == nil || len(in.Headers["Referred-By"]) != 1 {
						t.Errorf("carol: Referred-By = %v, want one", in.Headers["Referred-By"])
					} else if got := in.Headers["Referred-By"][0]; got != "<"+a.URI()+">" {
						t.Errorf("carol: Referred-By = %q, want <%s> (the transferor, not the transferee)", got, a.URI())
					}
					// B's new call to C carries audio both ways.
					nb := b.Events.WaitCall(t, 10*time.Second, "bob's call to carol active", func(ci phone.CallInfo) bool {
						return ci.TransferredFrom == bID && ci.State == phone.CallActive
					})
					c.Events.WaitState(t, in.ID, phone.CallActive)
					b.Media.WaitTone(t, nb.ID, 2000, 5*time.Second)
					c.Media.WaitTone(t, in.ID, 1000, 5*time.Second)
				}
			}
			final := a.Events.WaitFor(t, 15*time.Second, "final transfer progress", func(ev phone.Event) bool {
				tp, ok := ev.(phone.TransferProgress)
				return ok && tp.CallID == aID && tp.Final
			}).(phone.TransferProgress)
			if final.OK != tc.wantOK || final.Code != tc.wantNotif {
				t.Errorf("final progress = %+v, want ok=%v code=%d; all: %+v", final, tc.wantOK, tc.wantNotif, transferEvents(a, aID))
			}
			if tc.wantOK {
				end := a.Events.WaitState(t, aID, phone.CallEnded)
				if end.End == nil || end.End.Cause != phone.EndTransferred {
					t.Errorf("alice's leg ended %+v, want transferred", end.End)
				}
				bend := b.Events.WaitState(t, bID, phone.CallEnded)
				if bend.End == nil || bend.End.Cause != phone.EndTransferred {
					t.Errorf("bob's old leg ended %+v, want transferred", bend.End)
				}
				return
			}
			// Failure: the call is taken off hold and carries audio again.
			a.Events.WaitCall(t, 10*time.Second, "alice resumes", func(ci phone.CallInfo) bool { return ci.ID == aID && !ci.LocalHold })
			if ci, ok := a.Call(aID); !ok || ci.State != phone.CallActive {
				t.Fatalf("alice's call after failed transfer: %+v", ci)
			}
			a.Media.Detector(aID).Reset()
			a.Media.WaitTone(t, aID, 1000, 5*time.Second)
		})
	}
}

func TestAttendedTransfer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		carolCalls  bool // the consultation call is C→A instead of A→C
		toggleFirst bool
	}{
		{name: "A consults C"},
		{name: "A consults C, toggles back and forth", toggleFirst: true},
		{name: "C calls A as consultation", carolCalls: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			c := phonetest.NewPhone(t, 2000, &phone.Config{Name: "carol"})
			aB, bA := connect(t, a, b, 440, 1000)
			var aC, cA phone.CallID
			if tc.carolCalls {
				if err := a.Hold(aB); err != nil {
					t.Fatal(err)
				}
				cA, aC = connect(t, c, a, 2000, 440)
			} else {
				var err error
				aC, err = a.Consult(t.Context(), aB, c.URI())
				if err != nil {
					t.Fatalf("consult: %v", err)
				}
				in := answerOn(t, c)
				cA = in.ID
				a.Events.WaitState(t, aC, phone.CallActive)
			}
			if ci, _ := a.Call(aB); !ci.LocalHold {
				t.Fatalf("B's call not held during consultation: %+v", ci)
			}
			b.Events.WaitCall(t, 5*time.Second, "bob held", func(ci phone.CallInfo) bool { return ci.ID == bA && ci.RemoteHold })
			if tc.toggleFirst {
				if err := a.Toggle(aB); err != nil {
					t.Fatalf("toggle to B: %v", err)
				}
				if ci, _ := a.Call(aC); !ci.LocalHold {
					t.Errorf("toggle to B: C's call not held")
				}
				if ci, _ := a.Call(aB); ci.LocalHold {
					t.Errorf("toggle to B: B's call still held")
				}
				a.Media.Detector(aB).Reset()
				a.Media.WaitTone(t, aB, 1000, 5*time.Second)
				if err := a.Toggle(aC); err != nil {
					t.Fatalf("toggle to C: %v", err)
				}
				if ci, _ := a.Call(aB); !ci.LocalHold {
					t.Errorf("toggle to C: B's call not held")
				}
			}
			if err := a.CompleteTransfer(aB, aC); err != nil {
				t.Fatalf("complete transfer: %v", err)
			}
			// C gets an INVITE with Replaces and swaps it in without ringing.
			nc := c.Events.WaitCall(t, 10*time.Second, "carol's replacing call active", func(ci phone.CallInfo) bool {
				return ci.Replaced == cA && ci.State == phone.CallActive
			})
			nb := b.Events.WaitCall(t, 10*time.Second, "bob's call to carol active", func(ci phone.CallInfo) bool {
				return ci.TransferredFrom == bA && ci.State == phone.CallActive
			})
			b.Media.WaitTone(t, nb.ID, 2000, 5*time.Second)
			c.Media.WaitTone(t, nc.ID, 1000, 5*time.Second)
			for _, id := range []phone.CallID{aB, aC} {
				end := a.Events.WaitState(t, id, phone.CallEnded)
				if end.End == nil || end.End.Cause != phone.EndTransferred {
					t.Errorf("alice's call %s ended %+v, want transferred", id, end.End)
				}
			}
			c.Events.WaitState(t, cA, phone.CallEnded)
			b.Events.WaitState(t, bA, phone.CallEnded)
			if calls := a.Calls(); len(calls) != 0 {
				t.Errorf("alice still has calls: %+v", calls)
			}
			if n := len(b.Calls()); n != 1 {
				t.Errorf("bob has %d calls, want 1", n)
			}
			if n := len(c.Calls()); n != 1 {
				t.Errorf("carol has %d calls, want 1", n)
			}
		})
	}
}
