"""The window's look: readable at projector size, calm colours, invalid editors outlined in red."""

QSS = """
QWidget { font-size: 11pt; }
QGroupBox { font-weight: 600; border: 1px solid #d0d7de; border-radius: 6px; margin-top: 14px;
            padding: 10px 8px 8px 8px; background: #fbfcfd; }
QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; color: #24292f; }
QGroupBox QLabel, QGroupBox QCheckBox { font-weight: normal; }
QPushButton { padding: 5px 12px; border: 1px solid #c5ccd3; border-radius: 5px; background: #f6f8fa; }
QPushButton:hover { background: #eef1f4; }
QPushButton:checked { background: #dbeafe; border-color: #60a5fa; }
QPushButton:disabled { color: #9aa4ad; background: #f3f4f6; }
QPushButton#start { background: #1f7a3a; color: white; border-color: #1a6b33; font-weight: 600; }
QPushButton#start:disabled { background: #a9c7b2; color: #eef5f0; }
QProgressBar { border: 1px solid #c5ccd3; border-radius: 5px; text-align: center; height: 22px;
               background: #f6f8fa; }
QProgressBar::chunk { background: #60a5fa; border-radius: 4px; }
QLabel#status { color: #3b4650; }
QLabel#problem { color: #b00020; font-weight: 600; }
QLabel#hint { color: #57606a; }
QLabel#readout { color: #3b4650; padding: 2px 6px; }
*[invalid="true"] { border: 2px solid #d32f2f; background: #fdecea; border-radius: 3px; }
QTabWidget::pane { border: 1px solid #d0d7de; border-radius: 4px; top: -1px; }
QTabBar::tab { padding: 6px 8px; }
/* not bold: Qt sizes the tabs in the normal weight, and a bold one pushed the first tab out */
QTabBar::tab:selected { color: #0b57d0; }
QDockWidget::title { padding: 4px 8px; background: #eef1f4; font-weight: 600; }
QFrame#trainingBar { background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
QHeaderView::section { padding: 3px 6px; background: #eef1f4; border: none;
                       border-right: 1px solid #d0d7de; font-weight: 600; }
"""
