package phone

import "testing"

func TestNext(t *testing.T) {
	tests := []struct {
		name    string
		from    CallState
		in      input
		want    CallState
		wantErr bool
	}{
		{"dial", CallIdle, inDial, CallDialing, false},
		{"offer", CallIdle, inOffer, CallIncoming, false},
		{"180", CallDialing, inProvisional, CallRinging, false},
		{"183 sdp", CallDialing, inEarlyMedia, CallEarly, false},
		{"183 after 180", CallRinging, inEarlyMedia, CallEarly, false},
		{"180 after 183 keeps early", CallEarly, inProvisional, CallEarly, false},
		{"200 from dialing", CallDialing, inAnswered, CallActive, false},
		{"200 from ringing", CallRinging, inAnswered, CallActive, false},
		{"200 from early", CallEarly, inAnswered, CallActive, false},
		{"late 180 after 200", CallActive, inProvisional, CallActive, false},
		{"answer", CallIncoming, inAnswer, CallAnswering, false},
		{"ack", CallAnswering, inAck, CallActive, false},
		{"ack retransmit", CallActive, inAck, CallActive, false},
		{"hangup active", CallActive, inLocalEnd, CallEnding, false},
		{"cancel dialing", CallDialing, inLocalEnd, CallEnding, false},
		{"reject incoming", CallIncoming, inLocalEnd, CallEnding, false},
		{"bye done", CallEnding, inEndDone, CallEnded, false},
		{"bye crossing", CallEnding, inRemoteEnd, CallEnded, false},
		{"remote bye", CallActive, inRemoteEnd, CallEnded, false},
		{"remote cancel", CallIncoming, inRemoteEnd, CallEnded, false},
		{"486 to dialing", CallDialing, inRemoteEnd, CallEnded, false},
		{"late bye after end", CallEnded, inRemoteEnd, CallEnded, false},
		{"over from idle", CallIdle, inOver, CallEnded, false},
		{"over from ringing", CallRinging, inOver, CallEnded, false},
		{"over from ending", CallEnding, inOver, CallEnded, false},
		// illegal pairs
		{"answer outgoing", CallDialing, inAnswer, CallDialing, true},
		{"answer active", CallActive, inAnswer, CallActive, true},
		{"dial twice", CallDialing, inDial, CallDialing, true},
		{"offer on active", CallActive, inOffer, CallActive, true},
		{"ack before answer", CallIncoming, inAck, CallIncoming, true},
		{"180 on incoming", CallIncoming, inProvisional, CallIncoming, true},
		{"200 on incoming", CallIncoming, inAnswered, CallIncoming, true},
		{"answer ended", CallEnded, inAnswer, CallEnded, true},
		{"dial ended", CallEnded, inDial, CallEnded, true},
		{"end idle", CallIdle, inLocalEnd, CallIdle, true},
		{"remote end idle", CallIdle, inRemoteEnd, CallIdle, true},
		{"hangup twice", CallEnding, inLocalEnd, CallEnding, true},
		{"over twice", CallEnded, inOver, CallEnded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := next(tt.from, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("next(%s, %s) err = %v, wantErr %v", tt.from, tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("next(%s, %s) = %s, want %s", tt.from, tt.in, got, tt.want)
			}
		})
	}
}
