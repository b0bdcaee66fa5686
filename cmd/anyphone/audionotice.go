package main

import (
	"fmt"
	"sync/atomic"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/cti"
)

// audioNotices turns a guarded sound device's state changes into notices
// for the user: one when the device is lost (calls go on with null audio),
// one when it is back. Notices before setNotify are dropped. Its methods
// are safe for concurrent use and never block.
type audioNotices struct {
	notify atomic.Pointer[func(cti.NoticeLevel, string)]
	lost   atomic.Bool
}

func (a *audioNotices) setNotify(fn func(cti.NoticeLevel, string)) { a.notify.Store(&fn) }

// onChange is the audio.GuardOptions.OnChange of the TUI's device.
func (a *audioNotices) onChange(ev audio.DeviceEvent) {
	var level cti.NoticeLevel
	var text string
	switch ev.State {
	case audio.DeviceLost:
		if a.lost.Swap(true) {
			return // one notice per loss, not one per failed reopen
		}
		level, text = cti.NoticeError, fmt.Sprintf("audio device lost (%v): calls go on without sound, reconnecting", ev.Err)
	case audio.DeviceOpen:
		if !a.lost.Swap(false) {
			return
		}
		level, text = cti.NoticeInfo, "audio device back"
	default:
		return
	}
	if fn := a.notify.Load(); fn != nil {
		(*fn)(level, text)
	}
}

// lostNow reports whether the device is lost (for the header).
func (a *audioNotices) lostNow() bool { return a.lost.Load() }
