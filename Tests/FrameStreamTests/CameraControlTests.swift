import FrameStream
import Testing

/// The driver-agnostic side of camera controls: names, ranges, menus and the errors that say what to do.
struct CameraControlTests {
    static let brightness = CameraControl(
        name: "brightness",
        label: "Brightness",
        kind: .integer,
        minimum: -64,
        maximum: 64,
        defaultValue: 0,
        value: 0
    )
    static let focus = CameraControl(
        name: "focus_absolute",
        label: "Focus (absolute)",
        kind: .integer,
        minimum: 0,
        maximum: 250,
        step: 5,
        defaultValue: 0,
        value: 0
    )
    static let exposureAuto = CameraControl(
        name: "exposure_auto",
        label: "Exposure, Auto",
        kind: .menu,
        minimum: 0,
        maximum: 3,
        defaultValue: 3,
        value: 3,
        menu: [.init(index: 1, name: "Manual Mode"), .init(index: 3, name: "Aperture Priority Mode")]
    )
    static let whiteBalance = CameraControl(
        name: "white_balance_automatic",
        label: "White Balance, Automatic",
        kind: .boolean,
        minimum: 0,
        maximum: 1,
        defaultValue: 1,
        value: 1
    )
    static let all = [brightness, focus, exposureAuto, whiteBalance]

    @Test(arguments: [
        ("Brightness", "brightness"),
        ("Exposure, Auto", "exposure_auto"),
        ("Exposure (Absolute)", "exposure_absolute"),
        ("White Balance Temperature, Auto", "white_balance_temperature_auto"),
        ("  Power Line Frequency ", "power_line_frequency"),
        ("Pan/Tilt, Reset", "pan_tilt_reset"),
    ])
    func namesAreTheLabelsAsV4l2CtlShowsThem(_ label: String, _ name: String) {
        #expect(CameraControl.name(forLabel: label) == name)
    }

    @Test func valuesInRangeOnTheirStepsAndMenuItemsPass() throws {
        for value in [-64, 0, 64] { try Self.brightness.check(value) }
        for value in [0, 5, 250] { try Self.focus.check(value) }
        for value in [1, 3] { try Self.exposureAuto.check(value) }
        for value in [0, 1] { try Self.whiteBalance.check(value) }
        try CameraControl.check(["brightness": 10, "exposure_auto": 1], against: Self.all)
    }

    @Test func outOfRangeOffStepAndMissingMenuItemsSayWhatIsAllowed() {
        #expect(throws: CameraControlError.valueOutOfRange(Self.brightness, value: 65)) {
            try Self.brightness.check(65)
        }
        #expect(throws: CameraControlError.valueOutOfRange(Self.brightness, value: -65)) {
            try Self.brightness.check(-65)
        }
        #expect(throws: CameraControlError.valueOutOfRange(Self.focus, value: 7)) { try Self.focus.check(7) }
        #expect(throws: CameraControlError.valueOutOfRange(Self.exposureAuto, value: 2)) {
            try Self.exposureAuto.check(2)
        }
        #expect(throws: CameraControlError.valueOutOfRange(Self.whiteBalance, value: 2)) {
            try Self.whiteBalance.check(2)
        }
        #expect(
            CameraControlError.valueOutOfRange(Self.brightness, value: 65).description
                == "brightness must be from -64 to 64, not 65"
        )
        #expect(
            CameraControlError.valueOutOfRange(Self.focus, value: 7).description
                == "focus_absolute must be from 0 to 250 in steps of 5, not 7"
        )
        #expect(
            CameraControlError.valueOutOfRange(Self.exposureAuto, value: 2).description
                == "exposure_auto must be one of 1 (Manual Mode), 3 (Aperture Priority Mode), not 2"
        )
        #expect(
            CameraControlError.valueOutOfRange(Self.whiteBalance, value: 2).description
                == "white_balance_automatic must be 0 or 1 (false or true), not 2"
        )
    }

    @Test func unknownNamesListTheKnownOnesAndReadOnlyControlsCannotBeSet() {
        let known = Self.all.map(\.name)
        #expect(throws: CameraControlError.unknownControl(name: "brightnes", known: known)) {
            try CameraControl.check(["brightnes": 1], against: Self.all)
        }
        #expect(
            CameraControlError.unknownControl(name: "zoom", known: ["brightness", "contrast"]).description
                == "the camera has no control 'zoom': use one of brightness, contrast"
        )
        var readOnly = Self.brightness
        readOnly.isReadOnly = true
        #expect(throws: CameraControlError.readOnly(readOnly)) { try readOnly.check(0) }
    }

    @Test func switchesAreSetBeforeTheNumbersTheyUnlock() {
        let exposure = CameraControl(
            name: "exposure_absolute",
            label: "Exposure (Absolute)",
            kind: .integer,
            minimum: 3,
            maximum: 2047,
            defaultValue: 250,
            value: 250
        )
        let order = CameraControl.settingOrder(
            ["exposure_absolute": 300, "brightness": 1, "exposure_auto": 1, "white_balance_automatic": 0],
            controls: Self.all + [exposure]
        )
        #expect(order.map(\.name) == ["exposure_auto", "white_balance_automatic", "brightness", "exposure_absolute"])
    }
}
