"""The one exception the command line turns into a one-line error and exit status 2."""


class CourseError(Exception):
    """Bad input (course.yml, a solution file, a submission path...): the message is one line
    that says which file or entry is wrong and how."""
