package method

// CheckInputShapeForTest exposes checkInputShape to the external tests.
var CheckInputShapeForTest = checkInputShape
