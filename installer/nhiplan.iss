; Inno Setup script for Windows: packs the PyInstaller one-folder bundle (dist\nhiplan)
; built on Windows with:  py -m PyInstaller --noconfirm installer\nhiplan.spec
#define AppVersion GetEnv("NHIPLAN_VERSION")
[Setup]
AppId={{5B7A8E0C-2F7E-4C55-9E0B-6D1C3A4F9E21}
AppName=nhiplan
AppVersion={#AppVersion}
AppPublisher=nhiplan
DefaultDirName={autopf}\nhiplan
DefaultGroupName=nhiplan
OutputBaseFilename=nhiplan-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes

[Files]
Source: "..\dist\nhiplan\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\nhiplan"; Filename: "{app}\nhiplan.exe"; Parameters: "gui"
Name: "{autodesktop}\nhiplan"; Filename: "{app}\nhiplan.exe"; Parameters: "gui"; Tasks: desktopicon

[Tasks]
Name: desktopicon; Description: "Create a desktop icon"; Flags: unchecked

[Registry]
Root: HKA; Subkey: "Software\Classes\.nhiplan"; ValueType: string; ValueData: "nhiplan.project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\nhiplan.project\shell\open\command"; ValueType: string; ValueData: """{app}\nhiplan.exe"" gui ""%1"""
