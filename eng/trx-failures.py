#!/usr/bin/env python3
"""Prints each failed test of a .trx file with the start of its message, so the end of a CI log
(often all a reader gets) names what failed and why."""
import sys
import xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
root = ET.parse(sys.argv[1]).getroot()
for result in root.iterfind(".//t:UnitTestResult[@outcome='Failed']", ns):
    print(f"FAILED {result.get('testName')} ({result.get('duration')})")
    message = result.findtext(".//t:ErrorInfo/t:Message", default="", namespaces=ns)
    stack = result.findtext(".//t:ErrorInfo/t:StackTrace", default="", namespaces=ns)
    for line in (message.strip().splitlines()[:15] + [l for l in stack.splitlines() if "Hutch." in l][:5]):
        print(f"    {line[:300]}")
