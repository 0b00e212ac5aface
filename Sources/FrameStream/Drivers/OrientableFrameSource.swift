/// A camera driver that turns its pictures itself, where that is cheaper than turning the JPEGs it would yield.
///
/// A ``FrameBroadcaster`` with an ``FrameBroadcaster/Configuration/orientation`` turns every JPEG a driver yields
/// with a lossless transform (``JPEGTransformer``). A driver that encodes raw images itself can do better: it turns
/// the raw planes before it compresses them (``JPEGEncoder/init(width:height:quality:orientation:)``), at no cost
/// beyond a copy. Such a driver adopts this protocol; the broadcaster then calls ``frames(orientation:)`` and
/// leaves its images as they come. ``V4L2Camera`` is one: it turns YUYV and planar frames in its encoder and
/// transforms Motion-JPEG on its capture thread.
public protocol OrientableFrameSource: FrameSource {
    /// Like ``FrameSource/frames()``, with every image already flipped and rotated by `orientation`.
    func frames(orientation: FrameOrientation) -> Frames
}
