/// One setting of a camera that a user can read and change, such as brightness, exposure or focus: its range and
/// its current value.
///
/// Names are the driver's names lowercased, with every run of spaces and punctuation turned into `_`, as
/// `v4l2-ctl --list-ctrls` shows them: "Exposure, Auto" is `exposure_auto`, "White Balance, Automatic" is
/// `white_balance_automatic`.
///
/// ```swift
/// let brightness = controls.first { $0.name == "brightness" }!
/// try brightness.check(100)  // throws: brightness must be from -64 to 64, not 100
/// ```
public struct CameraControl: Sendable, Hashable, CustomStringConvertible {
    /// What kind of value a control takes.
    public enum Kind: String, Sendable, Hashable {
        /// A whole number from ``CameraControl/minimum`` to ``CameraControl/maximum`` in steps of
        /// ``CameraControl/step``.
        case integer
        /// 0 (off) or 1 (on).
        case boolean
        /// The index of one of the ``CameraControl/menu`` items, each with a name.
        case menu
        /// The index of one of the ``CameraControl/menu`` items, each standing for a number.
        case integerMenu
        /// An action, such as "focus once": setting any value triggers it; it has no value to read.
        case button
    }

    /// One choice of a menu control.
    public struct MenuItem: Sendable, Hashable {
        /// What to set the control to for this choice.
        public var index: Int
        /// The choice's name, such as "Manual Mode"; for an integer menu, its number as text.
        public var name: String
        /// For an integer menu, the number the choice stands for.
        public var number: Int?

        /// Creates a menu item.
        public init(index: Int, name: String, number: Int? = nil) {
            self.index = index
            self.name = name
            self.number = number
        }
    }

    /// The name to use in configuration files and requests, such as `exposure_auto`.
    public var name: String
    /// The name as the driver gives it, such as "Exposure, Auto".
    public var label: String
    /// The kind of value.
    public var kind: Kind
    /// The lowest value.
    public var minimum: Int
    /// The highest value.
    public var maximum: Int
    /// The distance between two allowed values, counted from ``minimum``; at least 1.
    public var step: Int
    /// The value the driver starts with.
    public var defaultValue: Int
    /// The current value; `nil` for a button, or a control that cannot be read.
    public var value: Int?
    /// The choices of a menu control, in order; empty for other kinds.
    public var menu: [MenuItem]
    /// Whether the control can be read but not set.
    public var isReadOnly: Bool
    /// Whether the control has no effect now because of another one (exposure while exposure is automatic).
    /// Drivers may still accept a value, or refuse it until the other control changes.
    public var isInactive: Bool

    /// Creates a control.
    public init(
        name: String,
        label: String,
        kind: Kind,
        minimum: Int,
        maximum: Int,
        step: Int = 1,
        defaultValue: Int,
        value: Int?,
        menu: [MenuItem] = [],
        isReadOnly: Bool = false,
        isInactive: Bool = false
    ) {
        self.name = name
        self.label = label
        self.kind = kind
        self.minimum = minimum
        self.maximum = maximum
        self.step = max(1, step)
        self.defaultValue = defaultValue
        self.value = value
        self.menu = menu
        self.isReadOnly = isReadOnly
        self.isInactive = isInactive
    }

    /// The name a driver's label has in configuration files and requests: lowercased, with every run of
    /// characters other than letters and digits turned into one `_`, and none at the ends
    /// (`"Exposure, Auto"` is `exposure_auto`), as `v4l2-ctl` names controls.
    public static func name(forLabel label: String) -> String {
        var name = ""
        var pendingSeparator = false
        for character in label.unicodeScalars {
            if character.isASCII, character.properties.isAlphabetic || ("0"..."9").contains(character) {
                if pendingSeparator { name += "_" }
                pendingSeparator = false
                name += String(character).lowercased()
            } else if !name.isEmpty {
                pendingSeparator = true
            }
        }
        return name
    }

    /// Whether `value` is one this control takes.
    /// - Throws: ``CameraControlError/readOnly(_:)`` for a control that cannot be set, or
    ///   ``CameraControlError/valueOutOfRange(_:value:)`` for a value outside its range, off its steps, or not one
    ///   of its menu items.
    public func check(_ value: Int) throws(CameraControlError) {
        if isReadOnly { throw .readOnly(self) }
        switch kind {
        case .button:
            return
        case .boolean:
            guard value == 0 || value == 1 else { throw .valueOutOfRange(self, value: value) }
        case .menu, .integerMenu:
            guard menu.contains(where: { $0.index == value }) else { throw .valueOutOfRange(self, value: value) }
        case .integer:
            guard value >= minimum, value <= maximum, (value - minimum) % step == 0 else {
                throw .valueOutOfRange(self, value: value)
            }
        }
    }

    /// The values this control takes, in words: "from -64 to 64", "from 0 to 250 in steps of 5", "0 or 1 (off or
    /// on)", "one of 1 (Manual Mode), 3 (Aperture Priority Mode)", or "any value (a button)".
    public var allowedValues: String {
        switch kind {
        case .integer:
            "from \(minimum) to \(maximum)" + (step > 1 ? " in steps of \(step)" : "")
        case .boolean:
            "0 or 1 (false or true)"
        case .menu, .integerMenu:
            "one of " + menu.map { "\($0.index) (\($0.name))" }.joined(separator: ", ")
        case .button:
            "any value (a button: setting it triggers it)"
        }
    }

    /// `brightness = 0 (integer, from -64 to 64, default 0)`.
    public var description: String {
        "\(name) = \(value.map(String.init) ?? "-") (\(kind.rawValue), \(allowedValues), default \(defaultValue))"
    }

    /// Checks each value against the control of its name among `controls`.
    /// - Throws: ``CameraControlError/unknownControl(name:known:)`` for a name that is none of them, or what
    ///   ``check(_:)`` throws, for the first value (by name) that cannot be set.
    public static func check(_ values: [String: Int], against controls: [CameraControl]) throws(CameraControlError) {
        for (name, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let control = controls.first(where: { $0.name == name }) else {
                throw .unknownControl(name: name, known: controls.map(\.name))
            }
            try control.check(value)
        }
    }

    /// The order in which to set `values`: switches (booleans and menus, such as `exposure_auto`) before the numbers
    /// they unlock (`exposure_absolute`), each group by name. A camera usually ignores or refuses a manual
    /// exposure or focus while its automatic mode is on.
    public static func settingOrder(_ values: [String: Int], controls: [CameraControl]) -> [(name: String, value: Int)]
    {
        func isSwitch(_ name: String) -> Bool {
            switch controls.first(where: { $0.name == name })?.kind {
            case .boolean, .menu, .integerMenu: true
            default: false
            }
        }
        return values.sorted { first, second in
            let firstIsSwitch = isSwitch(first.key)
            let secondIsSwitch = isSwitch(second.key)
            return firstIsSwitch != secondIsSwitch ? firstIsSwitch : first.key < second.key
        }.map { (name: $0.key, value: $0.value) }
    }
}
