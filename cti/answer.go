package cti

import (
	"context"
	"fmt"
	"time"

	"github.com/anyphone/anyphone/phone"
)

// Answering a waiting call holds the others first: product policy, so the
// TUI's a, ctl answer and the endpoint's auto-answer all leave the user
// talking to one party (Options.AnswerKeepsOthers turns it off, for a load
// endpoint whose concurrent calls are independent).

// holdFirstWait is how long Answer waits for the other calls' hold
// re-INVITEs to be answered before it answers anyway: a hold mutes our
// side at once (the phone stops sending when the re-INVITE leaves), so
// only the peer's 200 is waited for, and a silent peer (issue 17) must not
// keep the user from the call that rings.
const holdFirstWait = 500 * time.Millisecond

// holdOthers holds every active, unheld call on the local line except
// keep (a call in a conference with keep is left alone), and waits up to
// holdFirstWait for the holds. A hold still unanswered goes on in the
// background, owned by the phone (Timer B or Shutdown ends it); a hold
// that failed is a notice, not a reason to leave the new call ringing.
func (s *Service) holdOthers(ctx context.Context, keep CallID) {
	var ids []CallID
	for _, c := range s.ph.Calls() {
		if c.ID == keep || c.State != phone.CallActive || c.LocalHold {
			continue
		}
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		return
	}
	// The holds outlive a caller who stops waiting (a ctl command's ctx):
	// they end with their transaction or the phone.
	hctx := context.WithoutCancel(ctx)
	done := make(chan error, len(ids))
	for _, id := range ids {
		go func() { // ends when the re-INVITE does (Timer B) or the phone closes
			if err := s.ph.HoldContext(hctx, id); err != nil {
				done <- fmt.Errorf("hold %s first: %w", id, err)
				return
			}
			done <- nil
		}()
	}
	timer := time.NewTimer(holdFirstWait)
	defer timer.Stop()
	for range ids {
		select {
		case err := <-done:
			if err != nil {
				s.Notify(NoticeWarn, err.Error())
			}
		case <-timer.C:
			s.Notify(NoticeWarn, "answering while a hold still waits for the other party's answer")
			return
		case <-ctx.Done():
			return
		}
	}
}
