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
	SetDeviceTarget(ctx context.Context, name, target string) error
	Devices(ctx context.Context) ([]string, error)
	DeviceList(ctx context.Context) ([]api.DeviceInfo, error)
	Move(ctx context.Context, id api.CallID, device string) error
}

type (
	deviceArgs struct {
		// Device, if set, becomes the active device.
		Device string `json:"device,omitempty"`
	}
	deviceTargetArgs struct {
		Device string `json:"device"`
		Target string `json:"target"`
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

func (a *deviceTargetArgs) check() error {
	var errs []error
	if strings.TrimSpace(a.Device) == "" {
		errs = append(errs, errors.New("device: missing"))
	}
	if strings.TrimSpace(a.Target) == "" {
		errs = append(errs, errors.New("target: missing"))
	}
	return errors.Join(errs...)
}

// deviceController returns s's DeviceController or an unsupported error.
func (s *session) deviceController() (DeviceController, error) {
	if d, ok := s.c.(DeviceController); ok {
		return d, nil
	}
	return nil, &Error{Code: CodeUnsupported, Message: "this instance has no AnyDevice devices"}
}

// devicesOf is the result of device and target: the active devices and
// all of the user's.
func devicesOf(ctx context.Context, dc DeviceController) (devicesResult, error) {
	act, err := dc.Devices(ctx)
	if err != nil {
		return devicesResult{}, err
	}
	list, err := dc.DeviceList(ctx)
	if err != nil {
		return devicesResult{}, err
	}
	return devicesResult{Active: act, Devices: list}, nil
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
				return devicesOf(ctx, dc)
			}),
		"target": command("make device ring target, a SIP URI or a number (the controller checks it against the user's policy and keeps it): device, target; the devices as device returns them",
			func(ctx context.Context, s *session, a deviceTargetArgs) (any, error) {
				dc, err := s.deviceController()
				if err != nil {
					return nil, err
				}
				if err := dc.SetDeviceTarget(ctx, a.Device, a.Target); err != nil {
					return nil, err
				}
				return devicesOf(ctx, dc)
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
