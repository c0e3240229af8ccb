"""The canvas: a QGraphicsScene mirroring a FlowModel and the view that edits it."""
