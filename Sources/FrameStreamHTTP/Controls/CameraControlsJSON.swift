import FrameStream

/// What `GET controls` and `POST controls` answer, as JSON: `{"controls": [...]}`, one object per control.
struct CameraControlsJSON: Encodable {
    struct Control: Encodable {
        struct MenuItem: Encodable {
            var index: Int
            var name: String
            var number: Int?
        }

        var name: String
        var label: String
        var type: String
        var minimum: Int
        var maximum: Int
        var step: Int
        var `default`: Int
        var value: Int?
        var readOnly: Bool
        var inactive: Bool
        var menu: [MenuItem]?
    }

    var controls: [Control]

    init(_ controls: [CameraControl]) {
        self.controls = controls.map { control in
            Control(
                name: control.name,
                label: control.label,
                type: control.kind.rawValue,
                minimum: control.minimum,
                maximum: control.maximum,
                step: control.step,
                default: control.defaultValue,
                value: control.value,
                readOnly: control.isReadOnly,
                inactive: control.isInactive,
                menu: control.menu.isEmpty
                    ? nil : control.menu.map { Control.MenuItem(index: $0.index, name: $0.name, number: $0.number) }
            )
        }
    }
}
