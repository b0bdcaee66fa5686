package ctl

import (
	"context"
	"errors"
	"strings"

	"github.com/anyphone/anyphone/cti/api"
)

// DeviceController is implemented by Controllers with AnyDevice devices
// (*cti.Service with a controller route): the user's active device, and
// moving a call to another device. Calls on other devices are ordinary
// calls of the Controller (with a device): every call command works on
// them.
type DeviceController interface {
	SetDevice(ctx context.Context, name string) error
	Devices(ctx context.Context) ([]string, error)
	DeviceList(ctx context.Context) ([]api.DeviceInfo, error)
	Move(ctx context.Context, id api.CallID, device string) error
}

type (
	deviceArgs struct {
		// Device, if set, becomes the active device.
		Device string `json:"device,omitempty"`
	}
	moveArgs struct {
		CallID api.CallID `json:"call_id"`
		Device string     `json:"device"`
	}
	devicesResult struct {
		Active  []string         `json:"active"`
		Devices []api.DeviceInfo `json:"devices"`
	}
)

func (a *moveArgs) check() error {
	if strings.TrimSpace(a.Device) == "" {
		return errors.Join(needCallID(a.CallID), errors.New("device: missing"))
	}
	return needCallID(a.CallID)
}

// deviceController returns s's DeviceController or an unsupported error.
func (s *session) deviceController() (DeviceController, error) {
	if d, ok := s.c.(DeviceController); ok {
		return d, nil
	}
	return nil, &Error{Code: CodeUnsupported, Message: "this instance has no AnyDevice devices"}
}

// deviceCommands are the AnyDevice entries of the command table.
func deviceCommands() map[string]commandSpec {
	return map[string]commandSpec{
		"device": command("the active devices (first: where calls go) and all the user's devices; device? makes that one active (desk, mobile, home, ...)",
			func(ctx context.Context, s *session, a deviceArgs) (any, error) {
				dc, err := s.deviceController()
				if err != nil {
					return nil, err
				}
				if a.Device != "" {
					if err := dc.SetDevice(ctx, a.Device); err != nil {
						return nil, err
					}
				}
				act, err := dc.Devices(ctx)
				if err != nil {
					return nil, err
				}
				list, err := dc.DeviceList(ctx)
				if err != nil {
					return nil, err
				}
				return devicesResult{Active: act, Devices: list}, nil
			}),
		"move": command("carry a call on another device over to device: call_id, device",
			func(ctx context.Context, s *session, a moveArgs) (any, error) {
				dc, err := s.deviceController()
				if err != nil {
					return nil, err
				}
				return done(dc.Move(ctx, a.CallID, a.Device))
			}),
	}
}
