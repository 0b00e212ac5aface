import Foundation

/// The body of `POST controls`: a JSON object of control names to whole numbers or booleans, such as
/// `{"brightness": 10, "white_balance_automatic": false}`.
struct CameraControlValues: Decodable {
    /// The values by name; `true` and `false` are 1 and 0.
    var values: [String: Int]

    private struct Value: Decodable {
        var number: Int

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int.self) {
                self.number = number
            } else {
                self.number = try container.decode(Bool.self) ? 1 : 0
            }
        }
    }

    init(from decoder: any Decoder) throws {
        values = try decoder.singleValueContainer().decode([String: Value].self).mapValues(\.number)
    }

    /// The values in a request body, or `nil` when it is not such an object.
    static func parse(_ body: Data) -> [String: Int]? {
        (try? JSONDecoder().decode(Self.self, from: body))?.values
    }
}
