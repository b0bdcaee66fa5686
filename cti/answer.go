package cti

import (
	"context"
	"fmt"

	"github.com/anyphone/anyphone/phone"
)

// Answering a waiting call holds the others first: product policy, so the
// TUI's a, ctl answer and the endpoint's auto-answer all leave the user
// talking to one party (Options.AnswerKeepsOthers turns it off, for a load
// endpoint whose concurrent calls are independent).

// holdOthers holds every active, unheld call on the local line except
// keep. A call in a conference with keep is left alone.
func (s *Service) holdOthers(ctx context.Context, keep CallID) error {
	for _, c := range s.ph.Calls() {
		if c.ID == keep || c.State != phone.CallActive || c.LocalHold {
			continue
		}
		if err := s.ph.HoldContext(ctx, c.ID); err != nil {
			return fmt.Errorf("hold %s first: %w", c.ID, err)
		}
	}
	return nil
}
