"""Classroom rooms: a teacher's view followed live by students, in this process or via Redis."""
